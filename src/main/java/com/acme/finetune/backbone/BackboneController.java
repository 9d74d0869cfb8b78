package com.acme.finetune.backbone;

import java.net.URI;
import java.util.List;
import java.util.Map;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

@RestController
@RequestMapping("/api/v1/backbones")
class BackboneController {

	private final BackboneCatalog catalog;

	BackboneController(BackboneCatalog catalog) {
		this.catalog = catalog;
	}

	@GetMapping
	Map<String, List<BackboneView>> list() {
		return Map.of("items", this.catalog.list());
	}

	@GetMapping("/{id}")
	BackboneView get(@PathVariable String id) {
		return this.catalog.get(id);
	}

	@PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	ResponseEntity<BackboneView> upload(@RequestPart("file") MultipartFile file,
			@RequestParam(required = false) String name) {
		BackboneView created = this.catalog.upload(file, name);
		return ResponseEntity.created(URI.create("/api/v1/backbones/" + created.id())).body(created);
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable String id) {
		this.catalog.delete(id);
		return ResponseEntity.noContent().build();
	}

}
