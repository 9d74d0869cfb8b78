package com.acme.finetune.dataset;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.ProblemType;

import org.springframework.data.domain.Sort;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Size;

/** {@code /api/v1/datasets}: upload, list, read and delete image datasets. */
@RestController
@RequestMapping("/api/v1/datasets")
class DatasetController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "name", "name", "imageCount",
			"imageCount", "sizeBytes", "sizeBytes");

	private final DatasetService datasets;

	DatasetController(DatasetService datasets) {
		this.datasets = datasets;
	}

	@PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	ResponseEntity<DatasetSummary> upload(@RequestPart("file") MultipartFile file,
			@RequestParam(required = false) @Size(max = 255) String name,
			@RequestParam(required = false) @DecimalMin("0.0") @DecimalMax("0.5") Double validationSplit,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		DatasetSummary created = this.datasets.create(file, file.getOriginalFilename(), name, validationSplit,
				idempotencyKey);
		return ResponseEntity.created(URI.create("/api/v1/datasets/" + created.id())).body(created);
	}

	@GetMapping
	PageResponse<DatasetSummary> list(@RequestParam(defaultValue = "0") @Min(0) int page,
			@RequestParam(defaultValue = "20") @Min(1) @Max(100) int size,
			@RequestParam(defaultValue = "createdAt,desc") String sort) {
		return this.datasets.list(page, size, parseSort(sort));
	}

	@GetMapping("/{id}")
	DatasetSummary get(@PathVariable UUID id) {
		return this.datasets.find(id);
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable UUID id) {
		this.datasets.delete(id);
		return ResponseEntity.noContent().build();
	}

	/** {@code field[,asc|desc]}; only known fields, so a typo is a 400, not a 500. */
	static Sort parseSort(String sort) {
		String[] parts = sort.split(",");
		String property = SORTABLE.get(parts[0].strip());
		String direction = (parts.length > 1) ? parts[1].strip().toLowerCase(Locale.ROOT) : "asc";
		if (property == null || parts.length > 2 || !List.of("asc", "desc").contains(direction)) {
			throw new ApiException(ProblemType.VALIDATION, "Invalid sort '" + sort + "'").with("errors",
					List.of(Map.of("field", "sort", "message",
							"must be one of " + String.join(", ", SORTABLE.keySet().stream().sorted().toList())
									+ " optionally followed by ,asc or ,desc")));
		}
		Sort result = Sort.by("asc".equals(direction) ? Sort.Direction.ASC : Sort.Direction.DESC, property);
		// a stable tie-breaker keeps pages from overlapping when values repeat
		return result.and(Sort.by("id"));
	}

}
