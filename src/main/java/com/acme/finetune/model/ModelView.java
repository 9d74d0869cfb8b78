package com.acme.finetune.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A model as clients see it (SPEC.md → Models and predictions), with its lineage.
 *
 * @param baseModel what its job started from ({@code resnet50-imagenet},
 * {@code model:<id>}, …)
 * @param dataset the dataset it was trained on, as it was then
 * @param spec its job's resolved specification
 * @param registered the registered-model versions it is
 */
public record ModelView(UUID id, UUID jobId, String name, List<String> labels, String backbone,
		Map<String, Object> freeze, int imageSize, Map<String, Object> metrics, Parameters parameters, long sizeBytes,
		Instant createdAt, String baseModel, Dataset dataset, Map<String, Object> spec, List<Registration> registered) {

	public record Parameters(long total, long trainable) {
	}

	/** The dataset by id and the digest of its archive. */
	public record Dataset(UUID id, String sha256) {
	}

	/** One registered-model version that is this model. */
	public record Registration(String name, int version) {
	}

}
