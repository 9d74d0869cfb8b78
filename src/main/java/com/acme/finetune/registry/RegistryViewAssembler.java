package com.acme.finetune.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.registry.RegistryViews.AliasView;
import com.acme.finetune.registry.RegistryViews.Lineage;
import com.acme.finetune.registry.RegistryViews.RegisteredModelView;
import com.acme.finetune.registry.RegistryViews.VersionView;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

import static com.acme.finetune.registry.RegistryChecks.notFound;

/**
 * The registry's rows as clients see them ({@link RegistryViews}), for the writes and the
 * queries alike, and the check that a registered model exists. Runs in its caller's
 * transaction.
 */
@Component
class RegistryViewAssembler {

	private final RegisteredModelRepository names;

	private final VersionRepository versions;

	private final AliasRepository aliases;

	private final ModelCatalog models;

	private final ObjectMapper json;

	RegistryViewAssembler(RegisteredModelRepository names, VersionRepository versions, AliasRepository aliases,
			ModelCatalog models, ObjectMapper json) {
		this.names = names;
		this.versions = versions;
		this.aliases = aliases;
		this.models = models;
		this.json = json;
	}

	RegisteredModelView view(RegisteredModelEntity e) {
		List<VersionView> all = versionViews(this.versions.findByNameOrderByVersionDesc(e.name));
		return new RegisteredModelView(e.name, e.description, tags(e), all.isEmpty() ? null : all.get(0).version(),
				aliasViews(this.aliases.findByNameOrderByAlias(e.name)), all, e.createdAt, e.updatedAt);
	}

	List<VersionView> versionViews(List<VersionEntity> rows) {
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

	List<AliasView> aliasViews(List<AliasEntity> rows) {
		List<AliasView> views = new ArrayList<>(rows.size());
		for (AliasEntity a : rows) {
			UUID modelId = this.versions.findByNameAndVersion(a.name, a.version).map((v) -> v.modelId).orElse(null);
			views.add(new AliasView(a.alias, a.version, modelId, a.previousVersion, a.updatedBy, a.updatedAt));
		}
		return views;
	}

	Map<String, String> tags(RegisteredModelEntity e) {
		return new TreeMap<>(this.json.readValue(e.tags, new TypeReference<Map<String, String>>() {
		}));
	}

	void requireName(String name) {
		if (!this.names.existsById(name)) {
			throw notFound(name);
		}
	}

}
