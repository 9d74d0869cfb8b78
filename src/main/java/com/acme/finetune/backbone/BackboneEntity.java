package com.acme.finetune.backbone;

import java.time.Instant;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** An uploaded TorchScript backbone. */
@Entity
@Table(name = "backbones")
class BackboneEntity {

	@Id
	String id;

	String name;

	String sha256;

	int featureDim;

	int inputSize;

	/** Comma-separated stage ids that exist in the module ({@code stem,layer1,…}). */
	String stages;

	long sizeBytes;

	Instant createdAt;

	/**
	 * The digest of the file the sandboxed inspection accepted; null for backbones
	 * uploaded before inspection existed, which are inspected on first use.
	 */
	String inspectedSha256;

	/** Learnable parameters by stage (JSON object), from the inspection. */
	String parameterTotals;

	Instant inspectedAt;

	/** Why a backbone from before inspection existed failed it on first use. */
	String refusal;

	Boolean batchStatistics;

}
