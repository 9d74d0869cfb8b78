package com.acme.finetune.job;

import java.time.Instant;
import java.util.UUID;

import io.swagger.v3.oas.annotations.media.Schema;

/**
 * A job as clients see it (SPEC.md → Fine-tuning jobs); {@code sweepId} names the sweep a
 * trial belongs to.
 */
public record JobView(UUID id, JobStatus status, JobSpec spec, UUID datasetId, Progress progress,
		EpochView latestMetrics, UUID modelId, Error error, int attempts, String node, Instant createdAt,
		Instant startedAt, Instant finishedAt, UUID sweepId) {

	/** A job that is no sweep's trial. */
	public JobView(UUID id, JobStatus status, JobSpec spec, UUID datasetId, Progress progress, EpochView latestMetrics,
			UUID modelId, Error error, int attempts, String node, Instant createdAt, Instant startedAt,
			Instant finishedAt) {
		this(id, status, spec, datasetId, progress, latestMetrics, modelId, error, attempts, node, createdAt, startedAt,
				finishedAt, null);
	}

	@Schema(name = "JobProgress")
	public record Progress(int epoch, int totalEpochs, int step, int totalSteps, double percent, Long etaSeconds,
			Double imagesPerSecond) {
	}

	/** Why a job failed: a message and the cause's class, never a stack trace. */
	public record Error(String message, String type) {
	}

}
