package com.acme.finetune.training;

import java.nio.file.Path;

import com.acme.finetune.training.artifact.ServingPrecision;

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
 * @param precision {@code auto}, {@code fp32} or {@code bf16}
 * ({@link TrainingPrecision}); {@code null} = {@code fp32}
 */
public record TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm,
		Hyperparameters hyperparameters, String device, Path outputDir, Path cacheDir, FreezeSchedule freezeSchedule,
		Path checkpointDir, String precision) {

	public TrainingRequest {
		precision = (precision == null) ? ServingPrecision.FP32 : ServingPrecision.requested(precision);
		if (freezeSchedule == null) {
			freezeSchedule = FreezeSchedule.constant(freezeUpTo);
		}
		else if (freezeSchedule.initialUpTo() != freezeUpTo) {
			throw new IllegalArgumentException("The freeze schedule starts at " + freezeSchedule.initialUpTo().id()
					+ ", not at freezeUpTo " + freezeUpTo.id());
		}
	}

	/** In fp32. */
	public TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm, Hyperparameters hyperparameters,
			String device, Path outputDir, Path cacheDir, FreezeSchedule freezeSchedule, Path checkpointDir) {
		this(base, freezeUpTo, batchNorm, hyperparameters, device, outputDir, cacheDir, freezeSchedule, checkpointDir,
				null);
	}

	/** One freeze bound for the whole run, no checkpoints, fp32. */
	public TrainingRequest(BaseModel base, Stage freezeUpTo, BatchNormMode batchNorm, Hyperparameters hyperparameters,
			String device, Path outputDir, Path cacheDir) {
		this(base, freezeUpTo, batchNorm, hyperparameters, device, outputDir, cacheDir, null, null, null);
	}

	public TrainingRequest withCheckpointDir(Path dir) {
		return new TrainingRequest(this.base, this.freezeUpTo, this.batchNorm, this.hyperparameters, this.device,
				this.outputDir, this.cacheDir, this.freezeSchedule, dir, this.precision);
	}

	public TrainingRequest withPrecision(String value) {
		return new TrainingRequest(this.base, this.freezeUpTo, this.batchNorm, this.hyperparameters, this.device,
				this.outputDir, this.cacheDir, this.freezeSchedule, this.checkpointDir, value);
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
