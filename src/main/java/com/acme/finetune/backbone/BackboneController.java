package com.acme.finetune.backbone;

import java.util.List;
import java.util.Map;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

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

}
