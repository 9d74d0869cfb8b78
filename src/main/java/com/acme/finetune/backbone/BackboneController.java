package com.acme.finetune.backbone;

import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.acme.finetune.web.ETags;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;

import org.springframework.data.domain.Sort;
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

@RestController
@RequestMapping("/api/v1/backbones")
class BackboneController {

	private final BackboneCatalog catalog;

	static final Paging.Listing LISTING = new Paging.Listing("backbones", Map.of("id", "id"), null, "id", Set.of("id"));

	private final ETags etags;

	BackboneController(BackboneCatalog catalog, ETags etags) {
		this.catalog = catalog;
		this.etags = etags;
	}

	/**
	 * Built-in backbones first, then uploads, oldest first; {@code sort=id[,asc|desc]}
	 * orders by id instead.
	 */
	@GetMapping
	ResponseEntity<PageResponse<BackboneView>> list(@RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort,
			@RequestParam(required = false) String pageToken) {
		Paging paging = Paging.of(LISTING, "", page, size, sort, pageToken);
		List<BackboneView> all = new ArrayList<>(this.catalog.list());
		Sort.Order byId = paging.sort().getOrderFor("id");
		if (byId != null) {
			Comparator<BackboneView> order = Comparator.comparing(BackboneView::id);
			all.sort(byId.isAscending() ? order : order.reversed());
		}
		return this.etags.ok(paging.slice(all, BackboneView::id).map((b) -> b));
	}

	@GetMapping("/{id}")
	ResponseEntity<BackboneView> get(@PathVariable String id) {
		return this.etags.ok(this.catalog.get(id));
	}

	@PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	ResponseEntity<BackboneView> upload(@RequestPart("file") MultipartFile file,
			@RequestParam(required = false) String name) {
		BackboneView created = this.catalog.upload(file, name);
		return ResponseEntity.created(URI.create("/api/v1/backbones/" + created.id())).body(created);
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable String id,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		if (ifMatch != null) {
			this.etags.checkIfMatch(ifMatch, this.catalog.get(id));
		}
		this.catalog.delete(id);
		return ResponseEntity.noContent().build();
	}

}
