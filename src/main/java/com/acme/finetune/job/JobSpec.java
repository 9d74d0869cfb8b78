package com.acme.finetune.job;

import java.util.UUID;

/**
 * A fine-tuning job as clients submit it, with every default filled in. Field names and
 * value spellings are the API's (SPEC.md → Fine-tuning jobs).
 */
public record JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
		int timeoutMinutes, String callbackUrl) {

	public record Freeze(String upTo, String batchNorm) {
	}

	public record Hyperparameters(int epochs, int batchSize, double learningRate, String optimizer, double momentum,
			double weightDecay, String lrSchedule, int imageSize, String augmentation, double labelSmoothing,
			String classWeights, long seed, EarlyStopping earlyStopping) {
	}

	public record EarlyStopping(int patience, String metric) {
	}

}
