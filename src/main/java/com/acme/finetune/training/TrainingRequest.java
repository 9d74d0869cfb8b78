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
 * @param freezeSchedule gradual unfreezing; {@code null} = {@code freezeUpTo} for the
 * whole run, else its first phase must freeze {@code freezeUpTo}
 * @param checkpointDir where a checkpoint is written after every epoch and read back to
 * resume an interrupted run; {@code null} = no checkpoints
 */
public record TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm,
		Hyperparameters hyperparameters, String device, Path outputDir, Path cacheDir, FreezeSchedule freezeSchedule,
		Path checkpointDir) {

	public TrainingRequest {
		if (freezeSchedule == null) {
			freezeSchedule = FreezeSchedule.constant(freezeUpTo);
		}
		else if (freezeSchedule.initialUpTo() != freezeUpTo) {
			throw new IllegalArgumentException("The freeze schedule starts at " + freezeSchedule.initialUpTo().id()
					+ ", not at freezeUpTo " + freezeUpTo.id());
		}
	}

	/** One freeze bound for the whole run, no checkpoints. */
	public TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm, Hyperparameters hyperparameters,
			String device, Path outputDir, Path cacheDir) {
		this(base, freezeUpTo, batchNorm, hyperparameters, device, outputDir, cacheDir, null, null);
	}

	public TrainingRequest withCheckpointDir(Path dir) {
		return new TrainingRequest(this.base, this.freezeUpTo, this.batchNorm, this.hyperparameters, this.device,
				this.outputDir, this.cacheDir, this.freezeSchedule, dir);
	}

	/**
	 * How BatchNorm layers treat their statistics. {@code AUTO}: trainable stages use and
	 * update batch statistics where the network lets them, frozen stages keep theirs
	 * ({@link BatchNormPolicy} resolves it per network).
	 */
	public enum BatchNormMode {

		AUTO, FROZEN, TRAIN;

		public String id() {
			return name().toLowerCase(java.util.Locale.ROOT);
		}

	}

}
