package com.acme.finetune.model;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A fine-tuned model's row; JSON-valued columns hold what clients read back as-is. */
@Entity
@Table(name = "models")
class ModelEntity {

	@Id
	UUID id;

	UUID jobId;

	String name;

	/** Labels as a JSON array, in class-index order. */
	String labels;

	String backbone;

	/**
	 * {@code {upTo, batchNorm}} as JSON ({@code freeze} is a reserved word in
	 * PostgreSQL).
	 */
	@Column(name = "freeze_spec")
	String freeze;

	int imageSize;

	/** {@code {valAccuracy, perClass, confusionMatrix}} as JSON. */
	String metrics;

	@Column(name = "total_parameters")
	long totalParameters;

	@Column(name = "trainable_parameters")
	long trainableParameters;

	long sizeBytes;

	String artifactPath;

	Instant createdAt;

	/**
	 * Digest of the artifact's TorchScript backbone when it was accepted; null for a
	 * model without one, or trained before TorchScript was inspected.
	 */
	@Column(name = "backbone_sha256")
	String backboneSha256;

	/** Lineage, copied from the job at creation; null for models made outside jobs. */
	UUID datasetId;

	@Column(name = "dataset_sha256")
	String datasetSha256;

	String baseModel;

	/** The job's resolved specification as JSON. */
	String spec;

}
