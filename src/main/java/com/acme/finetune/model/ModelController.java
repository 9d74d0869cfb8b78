package com.acme.finetune.model;

import java.util.UUID;

import com.acme.finetune.web.PageResponse;

import org.springframework.data.domain.Pageable;
import org.springframework.data.domain.Sort;
import org.springframework.data.web.PageableDefault;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1/models")
class ModelController {

	private final ModelCatalog catalog;

	ModelController(ModelCatalog catalog) {
		this.catalog = catalog;
	}

	@GetMapping
	PageResponse<ModelView> list(
			@PageableDefault(size = 20, sort = "createdAt", direction = Sort.Direction.DESC) Pageable pageable) {
		return this.catalog.list(pageable);
	}

	@GetMapping("/{id}")
	ModelView get(@PathVariable UUID id) {
		return this.catalog.get(id);
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable UUID id) {
		this.catalog.delete(id);
		return ResponseEntity.noContent().build();
	}

}
