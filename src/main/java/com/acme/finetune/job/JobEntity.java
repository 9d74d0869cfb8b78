package com.acme.finetune.job;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A job row. State transitions go through {@link JobRepository}'s guarded updates. */
@Entity
@Table(name = "jobs")
class JobEntity {

	@Id
	UUID id;

	@Enumerated(EnumType.STRING)
	JobStatus status;

	UUID datasetId;

	/** The sweep this job is a trial of, or null. */
	UUID sweepId;

	String baseModel;

	/** The resolved {@link JobSpec} as JSON. */
	String spec;

	@Column(name = "progress_epoch")
	int epoch;

	int totalEpochs;

	@Column(name = "progress_step")
	int step;

	int totalSteps;

	double percent;

	Long etaSeconds;

	Double imagesPerSecond;

	UUID modelId;

	String errorMessage;

	String errorType;

	int attempts;

	/**
	 * Attempts made before the job was last resumed: the attempt limit counts from there.
	 */
	int attemptsBeforeResume;

	String node;

	boolean cancelRequested;

	/** {@code {perClass, confusionMatrix}} as JSON once the job succeeded. */
	String finalMetrics;

	Instant createdAt;

	Instant startedAt;

	Instant finishedAt;

	Instant updatedAt;

}
