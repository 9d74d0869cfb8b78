package com.acme.finetune.job;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.registry.Registration;

/**
 * A fine-tuning job as clients submit it, with every default filled in. Field names and
 * value spellings are the API's (SPEC.md → Fine-tuning jobs).
 *
 * @param register where the model is registered on success (null: nowhere)
 * @param trainOn {@value #TRAIN} (the dataset's training split; its validation split
 * scores every epoch) or {@value #TRAIN_AND_VALIDATION} (both splits train, nothing is
 * held out: no validation metrics, exactly {@code epochs} epochs, the last epoch's
 * weights kept)
 * @param precision {@value #AUTO}, {@code fp32} or {@code bf16}: the precision the model
 * serves in (training runs in fp32 on this engine: see docs/training.md → Precision)
 */
public record JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
		int timeoutMinutes, String callbackUrl, Registration register, String trainOn, String precision) {

	public static final String TRAIN = "train";

	public static final String TRAIN_AND_VALIDATION = "train+validation";

	/** bf16 where the device has native bf16 and it agrees with fp32, else fp32. */
	public static final String AUTO = "auto";

	public JobSpec {
		// specs stored before the fields existed trained on the training split, in auto
		if (trainOn == null) {
			trainOn = TRAIN;
		}
		if (precision == null) {
			precision = AUTO;
		}
	}

	/** A spec in precision {@value #AUTO}. */
	public JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
			int timeoutMinutes, String callbackUrl, Registration register, String trainOn) {
		this(datasetId, baseModel, freeze, hyperparameters, device, timeoutMinutes, callbackUrl, register, trainOn,
				AUTO);
	}

	/** A spec that trains on the training split. */
	public JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
			int timeoutMinutes, String callbackUrl, Registration register) {
		this(datasetId, baseModel, freeze, hyperparameters, device, timeoutMinutes, callbackUrl, register, TRAIN);
	}

	/** A spec that registers its model nowhere. */
	public JobSpec(UUID datasetId, String baseModel, Freeze freeze, Hyperparameters hyperparameters, String device,
			int timeoutMinutes, String callbackUrl) {
		this(datasetId, baseModel, freeze, hyperparameters, device, timeoutMinutes, callbackUrl, null);
	}

	/** Whether the validation split trains too (and nothing is held out). */
	public boolean trainsOnValidation() {
		return TRAIN_AND_VALIDATION.equals(this.trainOn);
	}

	/**
	 * @param upTo the freeze bound (with a schedule: its first phase's)
	 * @param schedule gradual unfreezing, or {@code null}
	 */
	public record Freeze(String upTo, String batchNorm, List<FreezePhase> schedule) {

		public Freeze(String upTo, String batchNorm) {
			this(upTo, batchNorm, null);
		}

	}

	/**
	 * From {@code epoch} completed epochs on (0 = the start), stages up to upTo are
	 * frozen.
	 */
	public record FreezePhase(int epoch, String upTo) {
	}

	/**
	 * @param warmupEpochs linear learning-rate warm-up from 0 (fractional allowed)
	 * @param stageLearningRates multipliers of learningRate by stage, or {@code null}
	 * @param layerDecay head ×1, layer4 ×d, layer3 ×d² …, or {@code null}
	 */
	public record Hyperparameters(int epochs, int batchSize, double learningRate, String optimizer, double momentum,
			double weightDecay, String lrSchedule, int imageSize, String augmentation, double labelSmoothing,
			String classWeights, long seed, EarlyStopping earlyStopping, double warmupEpochs,
			Map<String, Double> stageLearningRates, Double layerDecay) {
	}

	public record EarlyStopping(int patience, String metric) {
	}

}
