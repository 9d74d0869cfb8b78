package com.acme.finetune.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ETags;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;

import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import jakarta.servlet.http.HttpServletResponse;

@RestController
@RequestMapping("/api/v1/models")
class ModelController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "name", "name", "sizeBytes",
			"sizeBytes");

	static final Paging.Listing LISTING = Paging.Listing.byCreation("models", SORTABLE, "createdAt,desc");

	private final ModelCatalog catalog;

	private final ModelExports exports;

	private final ETags etags;

	ModelController(ModelCatalog catalog, ModelExports exports, ETags etags) {
		this.etags = etags;
		this.catalog = catalog;
		this.exports = exports;
	}

	@GetMapping
	ResponseEntity<PageResponse<ModelView>> list(@RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort,
			@RequestParam(required = false) String pageToken) {
		return this.etags.ok(this.catalog.list(Paging.of(LISTING, "", page, size, sort, pageToken)));
	}

	@GetMapping("/{id}")
	ResponseEntity<ModelView> get(@PathVariable UUID id) {
		return this.etags.ok(this.catalog.get(id));
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

	/**
	 * A portable export that runs without this service: {@code model.safetensors} with
	 * torchvision's ResNet-50 names (or, for a TorchScript backbone that is not
	 * torchvision's ResNet-50, {@code backbone.pt} as is plus {@code head.safetensors}),
	 * {@code config.json} and a README with the Python that loads it.
	 */
	@Operation(summary = "Export the model for use without this service",
			description = "A zip: model.safetensors with torchvision's resnet50 state_dict names (or, for a "
					+ "TorchScript backbone that is not torchvision's ResNet-50, backbone.pt as is plus "
					+ "head.safetensors), config.json (labels, preprocessing, architecture) and a README.md with "
					+ "the Python that loads it. format: safetensors (the only one so far).",
			responses = {
					@ApiResponse(responseCode = "200", description = "The export",
							content = @Content(mediaType = "application/zip",
									schema = @Schema(type = "string", format = "binary"))),
					@ApiResponse(responseCode = "400", description = "Unknown format",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such model",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "503", description = "Other exports are running (Retry-After)",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping(path = "/{id}/export", produces = "application/zip")
	void export(@PathVariable UUID id, @RequestParam(name = "format", defaultValue = "safetensors") String format,
			HttpServletResponse response) throws IOException {
		Path dir = this.exports.check(id, format);
		Path zip = this.exports.build(id, dir);
		try {
			response.setContentType("application/zip");
			response.setContentLengthLong(Files.size(zip));
			response.setHeader(HttpHeaders.CONTENT_DISPOSITION,
					ContentDisposition.attachment().filename("model-" + id + "-" + format + ".zip").build().toString());
			Files.copy(zip, response.getOutputStream());
		}
		finally {
			ModelExports.deleteQuietly(zip);
		}
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable UUID id,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		if (ifMatch != null) {
			this.etags.checkIfMatch(ifMatch, this.catalog.get(id));
		}
		this.catalog.delete(id);
		return ResponseEntity.noContent().build();
	}

}
