package com.acme.finetune.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;

import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import jakarta.servlet.http.HttpServletResponse;

@RestController
@RequestMapping("/api/v1/models")
class ModelController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "name", "name", "sizeBytes",
			"sizeBytes");

	private final ModelCatalog catalog;

	ModelController(ModelCatalog catalog) {
		this.catalog = catalog;
	}

	@GetMapping
	PageResponse<ModelView> list(@RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort) {
		return this.catalog.list(Paging.of(page, size, sort, SORTABLE, "createdAt,desc").pageable());
	}

	@GetMapping("/{id}")
	ModelView get(@PathVariable UUID id) {
		return this.catalog.get(id);
	}

	/**
	 * The artifact as a zip that plain DJL loads once unpacked (labels and preprocessing
	 * included), written straight to the response.
	 */
	@GetMapping(path = "/{id}/artifact", produces = "application/zip")
	void artifact(@PathVariable UUID id, HttpServletResponse response) throws IOException {
		// resolved before anything is written, so an unknown model is still a clean 404
		Path dir = this.catalog.artifactDir(id);
		response.setContentType("application/zip");
		response.setHeader(HttpHeaders.CONTENT_DISPOSITION,
				ContentDisposition.attachment().filename("model-" + id + ".zip").build().toString());
		ArtifactZip.write(dir, response.getOutputStream());
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable UUID id) {
		this.catalog.delete(id);
		return ResponseEntity.noContent().build();
	}

}
