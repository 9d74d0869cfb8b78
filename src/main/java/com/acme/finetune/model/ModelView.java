package com.acme.finetune.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A model as clients see it (SPEC.md → Models and predictions). */
public record ModelView(UUID id, UUID jobId, String name, List<String> labels, String backbone,
		Map<String, Object> freeze, int imageSize, Map<String, Object> metrics, Parameters parameters, long sizeBytes,
		Instant createdAt) {

	public record Parameters(long total, long trainable) {
	}

}
