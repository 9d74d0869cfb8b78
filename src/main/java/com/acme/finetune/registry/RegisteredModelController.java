package com.acme.finetune.registry;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.inference.ModelPredictions;
import com.acme.finetune.registry.RegistryViews.AliasMove;
import com.acme.finetune.registry.RegistryViews.AliasView;
import com.acme.finetune.registry.RegistryViews.RegisteredModelSummary;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.registry.RegistryViews.RoutedPrediction;
import com.acme.finetune.registry.RegistryViews.VersionView;
import com.acme.finetune.security.CallerIdentity;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.data.domain.Pageable;
import org.springframework.data.domain.Sort;
import org.springframework.data.web.PageableDefault;
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
class RegisteredModelController {

	static final String IDEMPOTENCY_SCOPE = "registered-model-versions";

	private final RegisteredModels registry;

	private final ModelPredictions predictions;

	private final RegistryMetrics metrics;

	private final IdempotencyKeys idempotency;

	private final ObjectMapper json;

	RegisteredModelController(RegisteredModels registry, ModelPredictions predictions, RegistryMetrics metrics,
			IdempotencyKeys idempotency, ObjectMapper json) {
		this.registry = registry;
		this.predictions = predictions;
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

	@GetMapping
	PageResponse<RegisteredModelSummary> list(
			@PageableDefault(size = 20, sort = "name", direction = Sort.Direction.ASC) Pageable pageable) {
		return this.registry.list(pageable);
	}

	@GetMapping("/{name}")
	RegisteredModelView get(@PathVariable String name) {
		return this.registry.get(name);
	}

	/**
	 * A JSON merge patch (RFC 7396) of {@code description} and {@code tags}; null
	 * removes.
	 */
	@PatchMapping(path = "/{name}", consumes = { MediaType.APPLICATION_JSON_VALUE, "application/merge-patch+json" })
	RegisteredModelView update(@PathVariable String name, @RequestBody JsonNode patch) {
		return this.registry.update(name, patch);
	}

	/**
	 * Deletes the name, its versions, aliases and their history (the models stay); 409
	 * while an alias points into it, unless {@code force=true}.
	 */
	@DeleteMapping("/{name}")
	ResponseEntity<Void> delete(@PathVariable String name,
			@RequestParam(name = "force", defaultValue = "false") boolean force) {
		this.registry.delete(name, force);
		return ResponseEntity.noContent().build();
	}

	/** Registers a model as the next version (the name is created with version 1). */
	@PostMapping(path = "/{name}/versions", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<VersionView> register(@PathVariable String name, @Valid @RequestBody NewVersion body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey,
			HttpServletRequest request) {
		RegisteredModels.checkName(name);
		Registration registration = new Registration(name, body.aliases(), body.description(), body.tags());
		String canonical = name + " " + this.json.writeValueAsString(body);
		String actor = CallerIdentity.of(request);
		VersionView version = this.idempotency.once(IDEMPOTENCY_SCOPE, idempotencyKey, canonical,
				() -> this.registry.register(registration, body.modelId(), RegisteredModels.SOURCE_API, actor)
					.versionId(),
				this.registry::version);
		return ResponseEntity
			.created(URI.create("/api/v1/registered-models/" + name + "/versions/" + version.version()))
			.body(version);
	}

	@GetMapping("/{name}/versions")
	PageResponse<VersionView> versions(@PathVariable String name,
			@PageableDefault(size = 20, sort = "version", direction = Sort.Direction.DESC) Pageable pageable) {
		return this.registry.versions(name, pageable);
	}

	@GetMapping("/{name}/versions/{version}")
	VersionView version(@PathVariable String name, @PathVariable int version) {
		return this.registry.version(name, version);
	}

	/** Unregisters a version (the model stays); 409 while an alias points to it. */
	@DeleteMapping("/{name}/versions/{version}")
	ResponseEntity<Void> deleteVersion(@PathVariable String name, @PathVariable int version) {
		this.registry.deleteVersion(name, version);
		return ResponseEntity.noContent().build();
	}

	@GetMapping("/{name}/aliases")
	List<AliasView> aliases(@PathVariable String name) {
		return this.registry.aliases(name);
	}

	@GetMapping("/{name}/aliases/{alias}")
	AliasView alias(@PathVariable String name, @PathVariable String alias) {
		return this.registry.alias(name, alias);
	}

	/**
	 * Moves (or creates) an alias atomically: the next request through it is answered by
	 * the new version; requests already running finish on the old one.
	 */
	@PutMapping(path = "/{name}/aliases/{alias}", consumes = MediaType.APPLICATION_JSON_VALUE)
	AliasView moveAlias(@PathVariable String name, @PathVariable String alias, @Valid @RequestBody AliasTarget body,
			HttpServletRequest request) {
		return this.registry.moveAlias(name, alias, body.version(), CallerIdentity.of(request));
	}

	@DeleteMapping("/{name}/aliases/{alias}")
	ResponseEntity<Void> deleteAlias(@PathVariable String name, @PathVariable String alias,
			HttpServletRequest request) {
		this.registry.deleteAlias(name, alias, CallerIdentity.of(request));
		return ResponseEntity.noContent().build();
	}

	/** Every move of the alias (who, when, from, to), newest first. */
	@GetMapping("/{name}/aliases/{alias}/history")
	PageResponse<AliasMove> history(@PathVariable String name, @PathVariable String alias,
			@PageableDefault(size = 50) Pageable pageable) {
		return this.registry.history(name, alias, pageable.getPageNumber(), pageable.getPageSize());
	}

	/** Predicts with the version the alias points to when the request arrives. */
	@PostMapping(path = "/{name}/aliases/{alias}/predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	RoutedPrediction predictByAlias(@PathVariable String name, @PathVariable String alias,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "topK", required = false) Integer topK) {
		return predict(this.registry.resolveAlias(name, alias), alias, images, topK);
	}

	@PostMapping(path = "/{name}/versions/{version}/predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	RoutedPrediction predictByVersion(@PathVariable String name, @PathVariable int version,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "topK", required = false) Integer topK) {
		return predict(this.registry.resolveVersion(name, version), null, images, topK);
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
