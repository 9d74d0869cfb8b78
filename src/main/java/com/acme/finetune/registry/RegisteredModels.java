package com.acme.finetune.registry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelRegistrations;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.registry.RegistryViews.AliasMove;
import com.acme.finetune.registry.RegistryViews.AliasView;
import com.acme.finetune.registry.RegistryViews.Lineage;
import com.acme.finetune.registry.RegistryViews.RegisteredModelSummary;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.registry.RegistryViews.VersionView;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The model registry: names with numbered versions (each a model) and movable aliases.
 * Every write to a name runs in one transaction that first locks the name's row, so
 * version numbers are handed out once and an alias move is atomic: a request resolves an
 * alias either before or after it, never halfway. Every alias move is recorded.
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

	RegisteredModels(RegisteredModelRepository names, VersionRepository versions, AliasRepository aliases,
			AliasEventRepository events, ModelCatalog models, ObjectMapper json, TransactionTemplate transaction) {
		this.names = names;
		this.versions = versions;
		this.aliases = aliases;
		this.events = events;
		this.models = models;
		this.json = json;
		this.transaction = transaction;
		this.separately = new TransactionTemplate(transaction.getTransactionManager());
		this.separately.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
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
			Map<String, String> tags = tags(name);
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
			move(name, alias, version.version, actor, now);
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
		precondition.accept(view(entity));
		Map<String, String> merged = tags(entity);
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
		return view(entity);
	}

	/**
	 * Deletes a registered model with its versions, aliases and their history; the models
	 * stay. Refused while an alias points into it, unless {@code force}.
	 */
	@Transactional
	void delete(String name, boolean force, Consumer<Object> precondition) {
		checkName(name);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		precondition.accept(view(entity));
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
		precondition.accept(versionViews(List.of(row)).get(0));
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

	/**
	 * Points {@code alias} at {@code version}, atomically, recording the move.
	 * @param precondition checks the alias as it is (null when it does not exist yet)
	 * under the name's lock, so two moves that read the same alias cannot both win
	 */
	@Transactional
	AliasView moveAlias(String name, String alias, int version, String actor, Consumer<Object> precondition) {
		checkName(name);
		checkAlias(alias);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		precondition.accept(this.aliases.findById(new AliasEntity.Key(name, alias))
			.map((a) -> aliasViews(List.of(a)).get(0))
			.orElse(null));
		if (this.versions.findByNameAndVersion(name, version).isEmpty()) {
			throw invalid("version", "version " + version + " of " + name + " does not exist");
		}
		AliasEntity moved = move(entity, alias, version, actor, Instant.now());
		return aliasViews(List.of(moved)).get(0);
	}

	/** Removes an alias, recording it. */
	@Transactional
	void deleteAlias(String name, String alias, String actor, Consumer<Object> precondition) {
		checkName(name);
		checkAlias(alias);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		AliasEntity current = this.aliases.findById(new AliasEntity.Key(name, alias))
			.orElseThrow(() -> aliasNotFound(name, alias));
		precondition.accept(aliasViews(List.of(current)).get(0));
		Instant now = Instant.now();
		this.aliases.delete(current);
		record(name, alias, current.version, null, actor, now);
		entity.updatedAt = now;
		this.names.saveAndFlush(entity);
	}

	/**
	 * Under the name's lock: sets the alias and records the move unless it is a no-op.
	 */
	private AliasEntity move(RegisteredModelEntity name, String alias, int version, String actor, Instant now) {
		AliasEntity current = this.aliases.findById(new AliasEntity.Key(name.name, alias)).orElse(null);
		if (current != null && current.version == version) {
			return current;
		}
		AliasEntity row = (current != null) ? current : new AliasEntity();
		Integer from = (current != null) ? current.version : null;
		row.name = name.name;
		row.alias = alias;
		row.version = version;
		row.previousVersion = from;
		row.updatedBy = actor;
		row.updatedAt = now;
		this.aliases.saveAndFlush(row);
		record(name.name, alias, from, version, actor, now);
		name.updatedAt = now;
		this.names.saveAndFlush(name);
		return row;
	}

	private void record(String name, String alias, Integer from, Integer to, String actor, Instant now) {
		AliasEventEntity event = new AliasEventEntity();
		event.name = name;
		event.alias = alias;
		event.fromVersion = from;
		event.toVersion = to;
		event.actor = actor;
		event.createdAt = now;
		this.events.save(event);
	}

	// ---- reads

	@Transactional(readOnly = true)
	PageResponse<RegisteredModelSummary> list(Paging paging) {
		Paging.Window<RegisteredModelEntity> page = paging.read(this.names, Specification.unrestricted(),
				(e) -> Map.of("name", e.name, "createdAt", e.createdAt));
		List<String> pageNames = page.content().stream().map((e) -> e.name).toList();
		Map<String, Object[]> counts = new LinkedHashMap<>();
		Map<String, List<AliasEntity>> aliasesByName = new LinkedHashMap<>();
		if (!pageNames.isEmpty()) {
			this.versions.latestAndCount(pageNames).forEach((row) -> counts.put((String) row[0], row));
			this.aliases.findByNameInOrderByAlias(pageNames)
				.forEach((a) -> aliasesByName.computeIfAbsent(a.name, (n) -> new ArrayList<>()).add(a));
		}
		List<AliasEntity> allAliases = aliasesByName.values().stream().flatMap(List::stream).toList();
		Map<String, AliasView> aliasViews = new LinkedHashMap<>();
		List<AliasView> views = aliasViews(allAliases);
		for (int i = 0; i < allAliases.size(); i++) {
			aliasViews.put(allAliases.get(i).name + "@" + allAliases.get(i).alias, views.get(i));
		}
		return page.map((e) -> {
			Object[] c = counts.get(e.name);
			List<AliasView> own = aliasesByName.getOrDefault(e.name, List.of())
				.stream()
				.map((a) -> aliasViews.get(a.name + "@" + a.alias))
				.toList();
			return new RegisteredModelSummary(e.name, e.description, tags(e),
					(c != null) ? ((Number) c[1]).intValue() : null, (c != null) ? ((Number) c[2]).longValue() : 0, own,
					e.createdAt, e.updatedAt);
		});
	}

	@Transactional(readOnly = true)
	RegisteredModelView get(String name) {
		checkName(name);
		return view(this.names.findById(name).orElseThrow(() -> notFound(name)));
	}

	@Transactional(readOnly = true)
	PageResponse<VersionView> versions(String name, Paging paging) {
		checkName(name);
		requireName(name);
		Paging.Window<VersionEntity> page = paging.read(this.versions,
				(root, query, cb) -> cb.equal(root.get("name"), name),
				(e) -> Map.of("version", e.version, "createdAt", e.createdAt));
		return page.withItems(versionViews(page.content()));
	}

	@Transactional(readOnly = true)
	VersionView version(String name, int version) {
		checkName(name);
		requireName(name);
		return versionViews(List
			.of(this.versions.findByNameAndVersion(name, version).orElseThrow(() -> versionNotFound(name, version))))
			.get(0);
	}

	@Transactional(readOnly = true)
	VersionView version(UUID versionId) {
		return versionViews(List.of(this.versions.findById(versionId)
			.orElseThrow(() -> ApiException.notFound("Registered model version", versionId)))).get(0);
	}

	@Transactional(readOnly = true)
	List<AliasView> aliases(String name) {
		checkName(name);
		requireName(name);
		return aliasViews(this.aliases.findByNameOrderByAlias(name));
	}

	@Transactional(readOnly = true)
	AliasView alias(String name, String alias) {
		checkName(name);
		checkAlias(alias);
		requireName(name);
		return aliasViews(List
			.of(this.aliases.findById(new AliasEntity.Key(name, alias)).orElseThrow(() -> aliasNotFound(name, alias))))
			.get(0);
	}

	/**
	 * Every move of an alias, newest first; also after the alias was deleted, as long as
	 * the registered model exists.
	 */
	@Transactional(readOnly = true)
	PageResponse<AliasMove> history(String name, String alias, Paging paging) {
		checkName(name);
		checkAlias(alias);
		requireName(name);
		if (!this.events.existsByNameAndAlias(name, alias)) {
			throw aliasNotFound(name, alias);
		}
		Specification<AliasEventEntity> filter = (root, query, cb) -> cb.and(cb.equal(root.get("name"), name),
				cb.equal(root.get("alias"), alias));
		return paging.read(this.events, filter, (e) -> Map.of("id", e.id))
			.map((e) -> new AliasMove(e.alias, e.fromVersion, e.toVersion, e.actor, e.createdAt));
	}

	/** The version an alias points to now (one read: a move is visible at once). */
	@Transactional(readOnly = true)
	public Target resolveAlias(String name, String alias) {
		checkName(name);
		checkAlias(alias);
		AliasEntity row = this.aliases.findById(new AliasEntity.Key(name, alias)).orElseThrow(() -> {
			requireName(name);
			return aliasNotFound(name, alias);
		});
		return resolveVersion(name, row.version);
	}

	@Transactional(readOnly = true)
	Target resolveVersion(String name, int version) {
		checkName(name);
		VersionEntity row = this.versions.findByNameAndVersion(name, version).orElseThrow(() -> {
			requireName(name);
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

	// ---- views

	private RegisteredModelView view(RegisteredModelEntity e) {
		List<VersionView> all = versionViews(this.versions.findByNameOrderByVersionDesc(e.name));
		return new RegisteredModelView(e.name, e.description, tags(e), all.isEmpty() ? null : all.get(0).version(),
				aliasViews(this.aliases.findByNameOrderByAlias(e.name)), all, e.createdAt, e.updatedAt);
	}

	private List<VersionView> versionViews(List<VersionEntity> rows) {
		Map<UUID, ModelView> byId = this.models.findAll(rows.stream().map((v) -> v.modelId).toList());
		Map<String, List<AliasEntity>> aliasesByName = new LinkedHashMap<>();
		List<VersionView> views = new ArrayList<>(rows.size());
		for (VersionEntity v : rows) {
			List<String> own = aliasesByName.computeIfAbsent(v.name, this.aliases::findByNameOrderByAlias)
				.stream()
				.filter((a) -> a.version == v.version)
				.map((a) -> a.alias)
				.toList();
			ModelView model = byId.get(v.modelId);
			Map<String, Object> metrics = null;
			Lineage lineage = null;
			if (model != null) {
				metrics = new LinkedHashMap<>(model.metrics());
				metrics.remove("confusionMatrix");
				lineage = new Lineage(model.jobId(), model.dataset(), model.baseModel(), model.backbone());
			}
			views.add(new VersionView(v.name, v.version, v.modelId, own, v.source, v.registeredBy, v.createdAt, metrics,
					lineage));
		}
		return views;
	}

	private List<AliasView> aliasViews(List<AliasEntity> rows) {
		List<AliasView> views = new ArrayList<>(rows.size());
		for (AliasEntity a : rows) {
			UUID modelId = this.versions.findByNameAndVersion(a.name, a.version).map((v) -> v.modelId).orElse(null);
			views.add(new AliasView(a.alias, a.version, modelId, a.previousVersion, a.updatedBy, a.updatedAt));
		}
		return views;
	}

	private Map<String, String> tags(RegisteredModelEntity e) {
		return new TreeMap<>(this.json.readValue(e.tags, new TypeReference<Map<String, String>>() {
		}));
	}

	// ---- checks

	private static void checked(Registration registration) {
		List<Map<String, String>> errors = new ArrayList<>();
		RegistryNames.check(registration, "", (f, m) -> errors.add(violation(f, m)));
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, errors.size() + " problem(s) with the registration")
				.with("errors", errors);
		}
	}

	static void checkName(String name) {
		if (!RegistryNames.isValid(name)) {
			throw invalid("name", "'" + name + "' " + RegistryNames.RULE);
		}
	}

	static void checkAlias(String alias) {
		if (!RegistryNames.isValid(alias)) {
			throw invalid("alias", "'" + alias + "' " + RegistryNames.RULE);
		}
	}

	private void requireName(String name) {
		if (!this.names.existsById(name)) {
			throw notFound(name);
		}
	}

	private static String describe(List<AliasEntity> aliases) {
		return aliases.stream().map((a) -> a.alias + " = version " + a.version).collect(Collectors.joining(", "));
	}

	static ApiException invalid(String field, String message) {
		return new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
				List.of(violation(field, message)));
	}

	private static Map<String, String> violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		return v;
	}

	private static ApiException notFound(String name) {
		return ApiException.notFound("Registered model", name);
	}

	private static ApiException versionNotFound(String name, int version) {
		return new ApiException(ProblemType.NOT_FOUND, "Version " + version + " of " + name + " does not exist");
	}

	private static ApiException aliasNotFound(String name, String alias) {
		return new ApiException(ProblemType.NOT_FOUND, "Alias " + alias + " of " + name + " does not exist");
	}

}
