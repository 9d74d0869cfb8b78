package com.acme.finetune.training;

import java.nio.file.Path;

/**
 * One fine-tuning run.
 *
 * @param base the model to start from
 * @param freezeUpTo every stage up to and including this one is frozen
 * ({@link Stage#NONE} freezes nothing); the new head is always trained
 * @param batchNorm whether BatchNorm layers of trainable stages update their statistics
 * (frozen stages never do)
 * @param hyperparameters the recipe
 * @param device {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param outputDir where the resulting model artifact is written (created if missing)
 * @param cacheDir where reusable embedding caches are kept across runs
 */
public record TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm,
		Hyperparameters hyperparameters, String device, Path outputDir, Path cacheDir) {

	public enum BatchNormMode {

		FROZEN, TRAIN

	}

}
