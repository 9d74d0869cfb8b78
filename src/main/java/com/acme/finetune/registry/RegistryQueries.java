package com.acme.finetune.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.registry.RegistryViews.AliasMove;
import com.acme.finetune.registry.RegistryViews.AliasView;
import com.acme.finetune.registry.RegistryViews.RegisteredModelSummary;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.registry.RegistryViews.VersionView;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;

import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import static com.acme.finetune.registry.RegistryChecks.aliasNotFound;
import static com.acme.finetune.registry.RegistryChecks.checkAlias;
import static com.acme.finetune.registry.RegistryChecks.checkName;
import static com.acme.finetune.registry.RegistryChecks.notFound;
import static com.acme.finetune.registry.RegistryChecks.versionNotFound;

/**
 * What the registry's API reads: registered models, their versions, aliases and alias
 * history, each in one read-only transaction. Resolving a name for a request is
 * {@link RegisteredModels}'.
 */
@Service
class RegistryQueries {

	private final RegisteredModelRepository names;

	private final VersionRepository versions;

	private final AliasRepository aliases;

	private final AliasEventRepository events;

	private final RegistryViewAssembler assembler;

	RegistryQueries(RegisteredModelRepository names, VersionRepository versions, AliasRepository aliases,
			AliasEventRepository events, RegistryViewAssembler assembler) {
		this.names = names;
		this.versions = versions;
		this.aliases = aliases;
		this.events = events;
		this.assembler = assembler;
	}

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
		List<AliasView> views = this.assembler.aliasViews(allAliases);
		for (int i = 0; i < allAliases.size(); i++) {
			aliasViews.put(allAliases.get(i).name + "@" + allAliases.get(i).alias, views.get(i));
		}
		return page.map((e) -> {
			Object[] c = counts.get(e.name);
			List<AliasView> own = aliasesByName.getOrDefault(e.name, List.of())
				.stream()
				.map((a) -> aliasViews.get(a.name + "@" + a.alias))
				.toList();
			return new RegisteredModelSummary(e.name, e.description, this.assembler.tags(e),
					(c != null) ? ((Number) c[1]).intValue() : null, (c != null) ? ((Number) c[2]).longValue() : 0, own,
					e.createdAt, e.updatedAt);
		});
	}

	@Transactional(readOnly = true)
	RegisteredModelView get(String name) {
		checkName(name);
		return this.assembler.view(this.names.findById(name).orElseThrow(() -> notFound(name)));
	}

	@Transactional(readOnly = true)
	PageResponse<VersionView> versions(String name, Paging paging) {
		checkName(name);
		this.assembler.requireName(name);
		Paging.Window<VersionEntity> page = paging.read(this.versions,
				(root, query, cb) -> cb.equal(root.get("name"), name),
				(e) -> Map.of("version", e.version, "createdAt", e.createdAt));
		return page.withItems(this.assembler.versionViews(page.content()));
	}

	@Transactional(readOnly = true)
	VersionView version(String name, int version) {
		checkName(name);
		this.assembler.requireName(name);
		return this.assembler
			.versionViews(List.of(this.versions.findByNameAndVersion(name, version)
				.orElseThrow(() -> versionNotFound(name, version))))
			.get(0);
	}

	@Transactional(readOnly = true)
	VersionView version(UUID versionId) {
		return this.assembler.versionViews(List.of(this.versions.findById(versionId)
			.orElseThrow(() -> ApiException.notFound("Registered model version", versionId)))).get(0);
	}

	@Transactional(readOnly = true)
	List<AliasView> aliases(String name) {
		checkName(name);
		this.assembler.requireName(name);
		return this.assembler.aliasViews(this.aliases.findByNameOrderByAlias(name));
	}

	@Transactional(readOnly = true)
	AliasView alias(String name, String alias) {
		checkName(name);
		checkAlias(alias);
		this.assembler.requireName(name);
		return this.assembler
			.aliasViews(List.of(this.aliases.findById(new AliasEntity.Key(name, alias))
				.orElseThrow(() -> aliasNotFound(name, alias))))
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
		this.assembler.requireName(name);
		if (!this.events.existsByNameAndAlias(name, alias)) {
			throw aliasNotFound(name, alias);
		}
		Specification<AliasEventEntity> filter = (root, query, cb) -> cb.and(cb.equal(root.get("name"), name),
				cb.equal(root.get("alias"), alias));
		return paging.read(this.events, filter, (e) -> Map.of("id", e.id))
			.map((e) -> new AliasMove(e.alias, e.fromVersion, e.toVersion, e.actor, e.createdAt));
	}

}
