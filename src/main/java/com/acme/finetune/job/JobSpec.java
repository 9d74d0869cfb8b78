package com.acme.finetune.job;

import java.util.UUID;

import com.acme.finetune.registry.Registration;

/**
 * A fine-tuning job as clients submit it, with every default filled in. Field names and
 * value spellings are the API's (SPEC.md → Fine-tuning jobs).
 *
 * @param register where the model is registered on success (null: nowhere)
 */
public record JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
		int timeoutMinutes, String callbackUrl, Registration register) {

	/** A spec that registers its model nowhere. */
	public JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
			int timeoutMinutes, String callbackUrl) {
		this(datasetId, baseModel, freeze, hyperparameters, device, timeoutMinutes, callbackUrl, null);
	}

	public record Freeze(String upTo, String batchNorm) {
	}

	public record Hyperparameters(int epochs, int batchSize, double learningRate, String optimizer, double momentum,
			double weightDecay, String lrSchedule, int imageSize, String augmentation, double labelSmoothing,
			String classWeights, long seed, EarlyStopping earlyStopping) {
	}

	public record EarlyStopping(int patience, String metric) {
	}

}
