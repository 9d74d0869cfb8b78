package com.acme.finetune.registry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelRegistrations;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

import static com.acme.finetune.registry.RegistryChecks.aliasNotFound;
import static com.acme.finetune.registry.RegistryChecks.checkAlias;
import static com.acme.finetune.registry.RegistryChecks.checkName;
import static com.acme.finetune.registry.RegistryChecks.checked;
import static com.acme.finetune.registry.RegistryChecks.invalid;
import static com.acme.finetune.registry.RegistryChecks.notFound;
import static com.acme.finetune.registry.RegistryChecks.versionNotFound;
import static com.acme.finetune.registry.RegistryChecks.violation;

/**
 * The model registry: names with numbered versions (each a model) and movable aliases.
 * Every write to a name runs in one transaction that first locks the name's row, so
 * version numbers are handed out once and an alias move is atomic: a request resolves an
 * alias either before or after it, never halfway. Every alias move is recorded. Moving
 * and removing aliases is {@link RegistryAliases}', the API's reads are
 * {@link RegistryQueries}'.
 */
@Service
public class RegisteredModels implements ModelRegistrations {

	static final String SOURCE_JOB = "job";

	static final String SOURCE_API = "api";

	private final RegisteredModelRepository names;

	private final VersionRepository versions;

	private final AliasRepository aliases;

	private final AliasEventRepository events;

	private final ModelCatalog models;

	private final ObjectMapper json;

	private final TransactionTemplate transaction;

	/** Creates names in their own transaction, committed before versions are added. */
	private final TransactionTemplate separately;

	private final RegistryAliases registryAliases;

	private final RegistryViewAssembler assembler;

	RegisteredModels(RegisteredModelRepository names, VersionRepository versions, AliasRepository aliases,
			AliasEventRepository events, ModelCatalog models, ObjectMapper json, TransactionTemplate transaction,
			RegistryAliases registryAliases, RegistryViewAssembler assembler) {
		this.names = names;
		this.versions = versions;
		this.aliases = aliases;
		this.events = events;
		this.models = models;
		this.json = json;
		this.transaction = transaction;
		this.separately = new TransactionTemplate(transaction.getTransactionManager());
		this.separately.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
		this.registryAliases = registryAliases;
		this.assembler = assembler;
	}

	/** A new version. */
	public record Registered(UUID versionId, String name, int version) {
	}

	/** A name and version resolved for a request. */
	public record Target(String name, int version, UUID modelId) {
	}

	// ---- writes

	/**
	 * Registers a model as the next version of {@code registration.name()} (creating the
	 * name with its first version) and moves the given aliases to it.
	 * @param source {@link #SOURCE_JOB} or {@link #SOURCE_API}
	 * @param actor who registers it, recorded with the version and the alias moves
	 * @return the new version
	 */
	public Registered register(Registration registration, UUID modelId, String source, String actor) {
		return register(registration, modelId, source, actor, (versionId) -> {
		});
	}

	/**
	 * As {@link #register(Registration, UUID, String, String)}, telling {@code stored}
	 * the new version's id inside the transaction that stores it (an idempotency key's
	 * claim completes there, so both commit or neither does).
	 */
	Registered register(Registration registration, UUID modelId, String source, String actor, Consumer<UUID> stored) {
		checked(registration);
		if (this.models.find(modelId).isEmpty()) {
			throw invalid("modelId", "model " + modelId + " does not exist");
		}
		// the row every writer locks must exist first: two first registrations of a new
		// name would otherwise both insert it, and one fail
		createIfAbsent(registration.name());
		try {
			return this.transaction.execute((status) -> {
				Registered registered = registerNow(registration, modelId, source, actor);
				stored.accept(registered.versionId());
				return registered;
			});
		}
		catch (DataIntegrityViolationException ex) {
			// the model was deleted, or the name deleted and recreated, meanwhile
			throw ApiException
				.conflict("Registered model " + registration.name() + " changed concurrently; retry the request");
		}
	}

	private void createIfAbsent(String name) {
		if (this.names.existsById(name)) {
			return;
		}
		try {
			this.separately.executeWithoutResult((status) -> this.names.insert(name, Instant.now()));
		}
		catch (DataIntegrityViolationException ex) {
			// created by a concurrent registration: just as good
		}
	}

	private Registered registerNow(Registration registration, UUID modelId, String source, String actor) {
		Instant now = Instant.now();
		RegisteredModelEntity name = this.names.lock(registration.name())
			.orElseThrow(() -> ApiException
				.conflict("Registered model " + registration.name() + " was deleted meanwhile; retry the request"));
		List<VersionEntity> same = this.versions.findByNameAndModelId(name.name, modelId);
		if (!same.isEmpty()) {
			throw ApiException
				.conflict("Model " + modelId + " is already version " + same.get(0).version + " of " + name.name)
				.with("version", same.get(0).version);
		}
		if (registration.description() != null) {
			name.description = registration.description();
		}
		if (registration.tags() != null && !registration.tags().isEmpty()) {
			Map<String, String> tags = this.assembler.tags(name);
			tags.putAll(registration.tags());
			name.tags = this.json.writeValueAsString(tags);
		}
		VersionEntity version = new VersionEntity();
		version.id = UUID.randomUUID();
		version.name = name.name;
		version.version = name.nextVersion;
		version.modelId = modelId;
		version.source = source;
		version.registeredBy = actor;
		version.createdAt = now;
		name.nextVersion++;
		name.updatedAt = now;
		this.names.saveAndFlush(name);
		this.versions.saveAndFlush(version);
		for (String alias : registration.aliases()) {
			this.registryAliases.move(name, alias, version.version, actor, now);
		}
		return new Registered(version.id, name.name, version.version);
	}

	/**
	 * Applies a JSON merge patch (RFC 7396) of {@code description} and {@code tags}: a
	 * member set to null removes it.
	 */
	@Transactional
	RegisteredModelView update(String name, JsonNode patch, Consumer<Object> precondition) {
		checkName(name);
		List<Map<String, String>> errors = new ArrayList<>();
		if (patch == null || !patch.isObject()) {
			throw invalid("", "the body must be a JSON object");
		}
		for (String field : patch.propertyNames()) {
			if (!field.equals("description") && !field.equals("tags")) {
				errors.add(violation(field, "unknown field; only description and tags can be changed"));
			}
		}
		JsonNode description = patch.get("description");
		if (description != null && !description.isNull() && !description.isString()) {
			errors.add(violation("description", "must be a string or null"));
		}
		JsonNode tags = patch.get("tags");
		if (tags != null && !tags.isNull() && !tags.isObject()) {
			errors.add(violation("tags", "must be an object or null"));
		}
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		precondition.accept(this.assembler.view(entity));
		Map<String, String> merged = this.assembler.tags(entity);
		if (tags != null && tags.isNull()) {
			merged.clear();
		}
		else if (tags != null && tags.isObject()) {
			for (Map.Entry<String, JsonNode> tag : tags.properties()) {
				if (tag.getValue().isNull()) {
					merged.remove(tag.getKey());
				}
				else if (!tag.getValue().isString()) {
					errors.add(violation("tags." + tag.getKey(), "must be a string or null"));
				}
				else {
					merged.put(tag.getKey(), tag.getValue().asString());
				}
			}
		}
		String newDescription = (description == null) ? entity.description
				: (description.isNull() ? null : description.asString());
		RegistryNames.checkDetails(null, newDescription, merged, "", (f, m) -> errors.add(violation(f, m)));
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, errors.size() + " problem(s) with the patch").with("errors",
					errors);
		}
		entity.description = newDescription;
		entity.tags = this.json.writeValueAsString(merged);
		entity.updatedAt = Instant.now();
		this.names.saveAndFlush(entity);
		return this.assembler.view(entity);
	}

	/**
	 * Deletes a registered model with its versions, aliases and their history; the models
	 * stay. Refused while an alias points into it, unless {@code force}.
	 */
	@Transactional
	void delete(String name, boolean force, Consumer<Object> precondition) {
		checkName(name);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		precondition.accept(this.assembler.view(entity));
		List<AliasEntity> current = this.aliases.findByNameOrderByAlias(name);
		if (!current.isEmpty() && !force) {
			throw new ApiException(ProblemType.ALIASED_MODEL,
					"Aliases point into " + name + " (" + describe(current)
							+ "); delete them first, or delete with ?force=true")
				.with("aliases", current.stream().map((a) -> a.alias).toList());
		}
		this.events.deleteByName(name);
		this.aliases.deleteByName(name);
		this.versions.deleteByName(name);
		this.names.delete(entity);
		this.names.flush();
	}

	/** Unregisters one version (the model stays); refused while an alias points to it. */
	@Transactional
	void deleteVersion(String name, int version, Consumer<Object> precondition) {
		checkName(name);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		VersionEntity row = this.versions.findByNameAndVersion(name, version)
			.orElseThrow(() -> versionNotFound(name, version));
		precondition.accept(this.assembler.versionViews(List.of(row)).get(0));
		List<AliasEntity> pointing = this.aliases.findByNameAndVersion(name, version);
		if (!pointing.isEmpty()) {
			throw new ApiException(ProblemType.ALIASED_MODEL,
					"Version " + version + " of " + name + " is aliased (" + describe(pointing)
							+ "); move or delete the alias first")
				.with("aliases", pointing.stream().map((a) -> a.alias).toList());
		}
		this.versions.delete(row);
		entity.updatedAt = Instant.now();
		this.names.saveAndFlush(entity);
	}

	// ---- resolving a name for a request

	/** The version an alias points to now (one read: a move is visible at once). */
	@Transactional(readOnly = true)
	public Target resolveAlias(String name, String alias) {
		checkName(name);
		checkAlias(alias);
		AliasEntity row = this.aliases.findById(new AliasEntity.Key(name, alias)).orElseThrow(() -> {
			this.assembler.requireName(name);
			return aliasNotFound(name, alias);
		});
		return resolveVersion(name, row.version);
	}

	@Transactional(readOnly = true)
	Target resolveVersion(String name, int version) {
		checkName(name);
		VersionEntity row = this.versions.findByNameAndVersion(name, version).orElseThrow(() -> {
			this.assembler.requireName(name);
			return versionNotFound(name, version);
		});
		return new Target(name, version, row.modelId);
	}

	// ---- what the model catalog asks

	@Override
	@Transactional(readOnly = true)
	public Map<UUID, List<ModelView.Registration>> versionsOf(Collection<UUID> modelIds) {
		if (modelIds.isEmpty()) {
			return Map.of();
		}
		return this.versions.findByModelIdIn(modelIds)
			.stream()
			.sorted((a, b) -> (a.name.equals(b.name)) ? Integer.compare(a.version, b.version)
					: a.name.compareTo(b.name))
			.collect(Collectors.groupingBy((v) -> v.modelId, LinkedHashMap::new,
					Collectors.mapping((v) -> new ModelView.Registration(v.name, v.version), Collectors.toList())));
	}

	@Override
	@Transactional(readOnly = true)
	public Optional<String> deletionBlocker(UUID modelId) {
		List<AliasEntity> pointing = this.aliases.findPointingTo(modelId);
		if (pointing.isEmpty()) {
			return Optional.empty();
		}
		return Optional.of("aliases point to it (" + pointing.stream()
			.map((a) -> a.name + "@" + a.alias + " = version " + a.version)
			.collect(Collectors.joining(", ")) + ")");
	}

	// ---- checks

	private static String describe(List<AliasEntity> aliases) {
		return aliases.stream().map((a) -> a.alias + " = version " + a.version).collect(Collectors.joining(", "));
	}

}
