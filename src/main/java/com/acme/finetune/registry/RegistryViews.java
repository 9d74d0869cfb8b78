package com.acme.finetune.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.inference.PredictionResponse;
import com.acme.finetune.model.ModelView;
import com.fasterxml.jackson.annotation.JsonUnwrapped;

/** What clients see of the registry. */
final class RegistryViews {

	private RegistryViews() {
	}

	/**
	 * A registered model in lists.
	 *
	 * @param latestVersion the highest version that exists, null when none does
	 */
	record RegisteredModelSummary(String name, String description, Map<String, String> tags, Integer latestVersion,
			long versionCount, List<AliasView> aliases, Instant createdAt, Instant updatedAt) {
	}

	/** A registered model with every version (newest first) and alias. */
	record RegisteredModelView(String name, String description, Map<String, String> tags, Integer latestVersion,
			List<AliasView> aliases, List<VersionView> versions, Instant createdAt, Instant updatedAt) {
	}

	/**
	 * One version.
	 *
	 * @param source {@code job} (registered by a job's {@code register}) or {@code api}
	 * @param metrics the model's metrics without the confusion matrix (see {@code GET
	 * /models/{id}})
	 */
	record VersionView(String name, int version, UUID modelId, List<String> aliases, String source, String registeredBy,
			Instant createdAt, Map<String, Object> metrics, Lineage lineage) {
	}

	/** Where a version's model comes from. */
	record Lineage(UUID jobId, ModelView.Dataset dataset, String baseModel, String backbone) {
	}

	/**
	 * Where an alias points.
	 *
	 * @param previousVersion where it pointed before its last move (the rollback target),
	 * null when it was created at this version
	 */
	record AliasView(String alias, int version, UUID modelId, Integer previousVersion, String updatedBy,
			Instant updatedAt) {
	}

	/** One move of an alias; {@code from} null: created, {@code to} null: removed. */
	record AliasMove(String alias, Integer from, Integer to, String by, Instant at) {
	}

	/** A prediction answered through a registered name. */
	record RoutedPrediction(@JsonUnwrapped PredictionResponse prediction, String name, int version, String alias) {
	}

}
