package com.acme.finetune.dataset;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ETags;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;

import org.springframework.http.HttpHeaders;
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
import jakarta.validation.constraints.Size;

/** {@code /api/v1/datasets}: upload, list, read and delete image datasets. */
@RestController
@RequestMapping("/api/v1/datasets")
class DatasetController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "name", "name", "imageCount",
			"imageCount", "sizeBytes", "sizeBytes");

	static final Paging.Listing LISTING = Paging.Listing.byCreation("datasets", SORTABLE, "createdAt,desc");

	private final DatasetService datasets;

	private final ETags etags;

	DatasetController(DatasetService datasets, ETags etags) {
		this.datasets = datasets;
		this.etags = etags;
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
	ResponseEntity<PageResponse<DatasetSummary>> list(@RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort,
			@RequestParam(required = false) String pageToken) {
		return this.etags.ok(this.datasets.list(Paging.of(LISTING, "", page, size, sort, pageToken)));
	}

	@GetMapping("/{id}")
	ResponseEntity<DatasetSummary> get(@PathVariable UUID id) {
		return this.etags.ok(this.datasets.find(id));
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable UUID id,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		if (ifMatch != null) {
			this.etags.checkIfMatch(ifMatch, this.datasets.find(id));
		}
		this.datasets.delete(id);
		return ResponseEntity.noContent().build();
	}

}
