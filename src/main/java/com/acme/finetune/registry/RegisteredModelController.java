package com.acme.finetune.registry;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.acme.finetune.inference.ModelExplanations;
import com.acme.finetune.inference.ModelPredictions;
import com.acme.finetune.registry.RegistryViews.AliasMove;
import com.acme.finetune.registry.RegistryViews.AliasView;
import com.acme.finetune.registry.RegistryViews.RegisteredModelSummary;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.registry.RegistryViews.RoutedPrediction;
import com.acme.finetune.registry.RegistryViews.VersionView;
import com.acme.finetune.security.CallerIdentity;
import com.acme.finetune.web.ETags;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

/**
 * Registered models: names with versions and aliases, and predictions by name that a
 * gateway can route to ({@code …/aliases/production/predictions}).
 */
@RestController
@RequestMapping("/api/v1/registered-models")
@Tag(name = "Registered models", description = "Names with numbered versions and movable aliases; predictions by name")
class RegisteredModelController {

	private static final Map<String, String> NAMES_SORTABLE = Map.of("name", "name", "createdAt", "createdAt",
			"updatedAt", "updatedAt");

	private static final Map<String, String> VERSIONS_SORTABLE = Map.of("version", "version", "createdAt", "createdAt");

	static final Paging.Listing NAMES = new Paging.Listing("registered-models", NAMES_SORTABLE, "name,asc", "name",
			Set.of("name", "createdAt"));

	static final Paging.Listing VERSIONS = new Paging.Listing("versions", VERSIONS_SORTABLE, "version,desc", "version",
			Set.of("version", "createdAt"));

	static final Paging.Listing HISTORY = new Paging.Listing("alias-history", Map.of(), "id,desc", "id", Set.of("id"));

	private static final String PROBLEM = "#/components/schemas/Problem";

	static final String IDEMPOTENCY_SCOPE = "registered-model-versions";

	private final RegisteredModels registry;

	private final RegistryQueries queries;

	private final RegistryAliases aliases;

	private final ModelPredictions predictions;

	private final ModelExplanations explanations;

	private final RegistryMetrics metrics;

	private final IdempotencyKeys idempotency;

	private final ObjectMapper json;

	private final ETags etags;

	RegisteredModelController(RegisteredModels registry, RegistryQueries queries, RegistryAliases aliases,
			ModelPredictions predictions, ModelExplanations explanations, RegistryMetrics metrics,
			IdempotencyKeys idempotency, ObjectMapper json, ETags etags) {
		this.etags = etags;
		this.registry = registry;
		this.queries = queries;
		this.aliases = aliases;
		this.predictions = predictions;
		this.explanations = explanations;
		this.metrics = metrics;
		this.idempotency = idempotency;
		this.json = json;
	}

	/**
	 * Registers an existing model.
	 *
	 * @param modelId the model that becomes the next version
	 * @param aliases moved to the new version
	 * @param description replaces the registered model's description when given
	 * @param tags merged into the registered model's tags
	 */
	record NewVersion(@NotNull UUID modelId, List<String> aliases, String description, Map<String, String> tags) {
	}

	/** Where an alias is to point. */
	record AliasTarget(@NotNull @Min(1) Integer version) {
	}

	@Operation(summary = "List registered models",
			description = "Paged; sort by name (default), createdAt or updatedAt.")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping
	ResponseEntity<PageResponse<RegisteredModelSummary>> list(@RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort,
			@RequestParam(required = false) String pageToken) {
		return this.etags.ok(this.queries.list(Paging.of(NAMES, "", page, size, sort, pageToken)));
	}

	@Operation(summary = "A registered model with its versions (metrics, lineage) and aliases")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}")
	ResponseEntity<RegisteredModelView> get(@PathVariable String name) {
		return this.etags.ok(this.queries.get(name));
	}

	/**
	 * A JSON merge patch (RFC 7396) of {@code description} and {@code tags}; null
	 * removes.
	 */
	@Operation(summary = "Change the description and tags",
			description = "A JSON merge patch (RFC 7396): a member set to null is removed; tags are merged key by key.")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@PatchMapping(path = "/{name}", consumes = { MediaType.APPLICATION_JSON_VALUE, "application/merge-patch+json" })
	ResponseEntity<RegisteredModelView> update(@PathVariable String name, @RequestBody JsonNode patch,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		return this.etags.ok(this.registry.update(name, patch, (current) -> this.etags.checkIfMatch(ifMatch, current)));
	}

	/**
	 * Deletes the name, its versions, aliases and their history (the models stay); 409
	 * while an alias points into it, unless {@code force=true}.
	 */
	@Operation(summary = "Delete a registered model",
			description = "Deletes the name, its versions, aliases and their history; the models themselves stay. 409 while an alias points into it, unless force=true.")
	@ApiResponse(responseCode = "204", description = "Deleted")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "409",
			description = "An alias points there (type aliased-model), or a conflicting registration",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@DeleteMapping("/{name}")
	ResponseEntity<Void> delete(@PathVariable String name,
			@RequestParam(name = "force", defaultValue = "false") boolean force,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		this.registry.delete(name, force, (current) -> this.etags.checkIfMatch(ifMatch, current));
		return ResponseEntity.noContent().build();
	}

	/** Registers a model as the next version (the name is created with version 1). */
	@Operation(summary = "Register an existing model as the next version",
			description = "Creates the name with version 1 if it does not exist yet; moves the given aliases to the new version. Accepts Idempotency-Key.")
	@ApiResponse(responseCode = "201", description = "The new version")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "409",
			description = "An alias points there (type aliased-model), or a conflicting registration",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "422", description = "Idempotency-Key reused with another body",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@PostMapping(path = "/{name}/versions", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<VersionView> register(@PathVariable String name, @Valid @RequestBody NewVersion body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey,
			HttpServletRequest request) {
		RegistryChecks.checkName(name);
		Registration registration = new Registration(name, body.aliases(), body.description(), body.tags());
		String canonical = name + " " + this.json.writeValueAsString(body);
		String actor = CallerIdentity.of(request);
		VersionView version = this.idempotency.once(IDEMPOTENCY_SCOPE, idempotencyKey, canonical,
				(claim) -> this.registry
					.register(registration, body.modelId(), RegisteredModels.SOURCE_API, actor, claim::complete)
					.versionId(),
				this.queries::version);
		return ResponseEntity
			.created(URI.create("/api/v1/registered-models/" + name + "/versions/" + version.version()))
			.body(version);
	}

	@Operation(summary = "List versions, newest first")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}/versions")
	ResponseEntity<PageResponse<VersionView>> versions(@PathVariable String name,
			@RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "20") int size,
			@RequestParam(required = false) String sort, @RequestParam(required = false) String pageToken) {
		return this.etags
			.ok(this.queries.versions(name, Paging.of(VERSIONS, "name=" + name, page, size, sort, pageToken)));
	}

	@Operation(summary = "One version")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}/versions/{version}")
	ResponseEntity<VersionView> version(@PathVariable String name, @PathVariable int version) {
		return this.etags.ok(this.queries.version(name, version));
	}

	/** Unregisters a version (the model stays); 409 while an alias points to it. */
	@Operation(summary = "Unregister a version",
			description = "The model stays; its number is never given again. 409 while an alias points to it.")
	@ApiResponse(responseCode = "204", description = "Deleted")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "409",
			description = "An alias points there (type aliased-model), or a conflicting registration",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@DeleteMapping("/{name}/versions/{version}")
	ResponseEntity<Void> deleteVersion(@PathVariable String name, @PathVariable int version,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch) {
		this.registry.deleteVersion(name, version, (current) -> this.etags.checkIfMatch(ifMatch, current));
		return ResponseEntity.noContent().build();
	}

	@Operation(summary = "The aliases and where they point")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}/aliases")
	ResponseEntity<List<AliasView>> aliases(@PathVariable String name) {
		return this.etags.ok(this.queries.aliases(name));
	}

	@Operation(summary = "Where an alias points",
			description = "previousVersion is where its last move came from: PUT it back to roll back.")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}/aliases/{alias}")
	ResponseEntity<AliasView> alias(@PathVariable String name, @PathVariable String alias) {
		return this.etags.ok(this.queries.alias(name, alias));
	}

	/**
	 * Moves (or creates) an alias atomically: the next request through it is answered by
	 * the new version; requests already running finish on the old one.
	 */
	@Operation(summary = "Point an alias at a version (create or move it)",
			description = "Atomic: the next prediction through the alias uses the new version; requests already running finish on the old one. Recorded with who and when.")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@PutMapping(path = "/{name}/aliases/{alias}", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<AliasView> moveAlias(@PathVariable String name, @PathVariable String alias,
			@Valid @RequestBody AliasTarget body,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch,
			@RequestHeader(name = HttpHeaders.IF_NONE_MATCH, required = false) String ifNoneMatch,
			HttpServletRequest request) {
		return this.etags.ok(this.aliases.moveAlias(name, alias, body.version(), CallerIdentity.of(request),
				(current) -> this.etags.check(ifMatch, ifNoneMatch, current)));
	}

	@Operation(summary = "Delete an alias (recorded)")
	@ApiResponse(responseCode = "204", description = "Deleted")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@DeleteMapping("/{name}/aliases/{alias}")
	ResponseEntity<Void> deleteAlias(@PathVariable String name, @PathVariable String alias,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch, HttpServletRequest request) {
		this.aliases.deleteAlias(name, alias, CallerIdentity.of(request),
				(current) -> this.etags.checkIfMatch(ifMatch, current));
		return ResponseEntity.noContent().build();
	}

	/** Every move of the alias (who, when, from, to), newest first. */
	@Operation(summary = "Every move of an alias, newest first",
			description = "from null: created; to null: deleted; by: the API key (or job) that moved it.")
	@ApiResponse(responseCode = "200", description = "OK")
	@ApiResponse(responseCode = "400",
			description = "Invalid name, alias, version or body (errors[] lists each problem)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@GetMapping("/{name}/aliases/{alias}/history")
	ResponseEntity<PageResponse<AliasMove>> history(@PathVariable String name, @PathVariable String alias,
			@RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "50") int size,
			@RequestParam(required = false) String pageToken) {
		return this.etags.ok(this.queries.history(name, alias,
				Paging.of(HISTORY, "name=" + name + "&alias=" + alias, page, size, null, pageToken)));
	}

	/** Predicts with the version the alias points to when the request arrives. */
	@Operation(summary = "Predict with the version an alias points to",
			description = "Same request and response as POST /models/{id}/predictions, plus name, version and alias.",
			responses = {
					@ApiResponse(responseCode = "400",
							description = "Invalid name, alias, version or body (errors[] lists each problem)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "415", description = "Not an image in a supported format",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "503",
							description = "The model's prediction queue is full (Retry-After)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))) })
	@ApiResponse(responseCode = "200", description = "OK")
	@PostMapping(path = "/{name}/aliases/{alias}/predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	RoutedPrediction predictByAlias(@PathVariable String name, @PathVariable String alias,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "topK", required = false) Integer topK) {
		return predict(this.registry.resolveAlias(name, alias), alias, images, topK);
	}

	@Operation(summary = "Predict with one version",
			description = "Same request and response as POST /models/{id}/predictions, plus name and version (alias null).",
			responses = {
					@ApiResponse(responseCode = "400",
							description = "Invalid name, alias, version or body (errors[] lists each problem)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "415", description = "Not an image in a supported format",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "503",
							description = "The model's prediction queue is full (Retry-After)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))) })
	@ApiResponse(responseCode = "200", description = "OK")
	@PostMapping(path = "/{name}/versions/{version}/predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	RoutedPrediction predictByVersion(@PathVariable String name, @PathVariable int version,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "topK", required = false) Integer topK) {
		return predict(this.registry.resolveVersion(name, version), null, images, topK);
	}

	/** Explains with the version the alias points to when the request arrives. */
	@Operation(summary = "Grad-CAM explanation with the version an alias points to",
			description = "Same request and responses as POST /models/{id}/explanations.",
			responses = {
					@ApiResponse(responseCode = "400",
							description = "Invalid name or alias, no image, or a label the model does not know",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "415", description = "Not an image in a supported format",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "422",
							description = "A corrupt image, or a backbone Grad-CAM cannot explain (not-explainable)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "503", description = "The model's queue is full (Retry-After)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))) })
	@ApiResponse(responseCode = "200", description = "The heat map (PNG, or JSON with Accept: application/json)")
	@PostMapping(path = "/{name}/aliases/{alias}/explanations", consumes = MediaType.MULTIPART_FORM_DATA_VALUE,
			produces = { MediaType.IMAGE_PNG_VALUE, MediaType.APPLICATION_JSON_VALUE })
	ResponseEntity<?> explainByAlias(@PathVariable String name, @PathVariable String alias,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "label", required = false) String label,
			@RequestHeader(name = HttpHeaders.ACCEPT, required = false) String accept) {
		return this.explanations.explain(this.registry.resolveAlias(name, alias).modelId(), images, label, accept);
	}

	@Operation(summary = "Grad-CAM explanation with one version",
			description = "Same request and responses as POST /models/{id}/explanations.",
			responses = {
					@ApiResponse(responseCode = "400",
							description = "Invalid name or version, no image, or a label the model does not know",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "404", description = "No such registered model, version or alias",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "415", description = "Not an image in a supported format",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "422",
							description = "A corrupt image, or a backbone Grad-CAM cannot explain (not-explainable)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))),
					@ApiResponse(responseCode = "503", description = "The model's queue is full (Retry-After)",
							content = @Content(mediaType = "application/problem+json",
									schema = @Schema(ref = PROBLEM))) })
	@ApiResponse(responseCode = "200", description = "The heat map (PNG, or JSON with Accept: application/json)")
	@PostMapping(path = "/{name}/versions/{version}/explanations", consumes = MediaType.MULTIPART_FORM_DATA_VALUE,
			produces = { MediaType.IMAGE_PNG_VALUE, MediaType.APPLICATION_JSON_VALUE })
	ResponseEntity<?> explainByVersion(@PathVariable String name, @PathVariable int version,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "label", required = false) String label,
			@RequestHeader(name = HttpHeaders.ACCEPT, required = false) String accept) {
		return this.explanations.explain(this.registry.resolveVersion(name, version).modelId(), images, label, accept);
	}

	/**
	 * Resolved once, before the images are read: the whole request runs on this version
	 * whatever happens to the alias meanwhile.
	 */
	private RoutedPrediction predict(RegisteredModels.Target target, String alias, List<MultipartFile> images,
			Integer topK) {
		RoutedPrediction answer = new RoutedPrediction(this.predictions.predict(target.modelId(), images, topK),
				target.name(), target.version(), alias);
		this.metrics.prediction(target.name(), alias, target.version());
		return answer;
	}

}
