package com.acme.finetune.training;

import java.util.Locale;

/**
 * Everything that shapes one fine-tuning run apart from the data and the base model. The
 * defaults ({@link #defaults()}) are the seed's recipe.
 */
public record Hyperparameters(int epochs, int batchSize, double learningRate, Optimizer optimizer, double momentum,
		double weightDecay, LrSchedule lrSchedule, int imageSize, Augmentation augmentation, double labelSmoothing,
		ClassWeights classWeights, long seed, EarlyStopping earlyStopping) {

	public static Hyperparameters defaults() {
		return new Hyperparameters(10, 32, 0.001, Optimizer.SGD, 0.9, 0.0, LrSchedule.CONSTANT, 224, Augmentation.NONE,
				0.0, ClassWeights.NONE, 42, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
	}

	public enum Optimizer {

		SGD, ADAM, ADAMW;

		public String id() {
			return name().toLowerCase(Locale.ROOT);
		}

	}

	public enum LrSchedule {

		CONSTANT, STEP, COSINE;

		public String id() {
			return name().toLowerCase(Locale.ROOT);
		}

	}

	public enum Augmentation {

		NONE, FLIP, FLIP_CROP;

		public String id() {
			return name().toLowerCase(Locale.ROOT).replace('_', '-');
		}

	}

	public enum ClassWeights {

		NONE, BALANCED;

		public String id() {
			return name().toLowerCase(Locale.ROOT);
		}

	}

	public enum EarlyStoppingMetric {

		VAL_LOSS("valLoss"), VAL_ACCURACY("valAccuracy");

		private final String id;

		EarlyStoppingMetric(String id) {
			this.id = id;
		}

		public String id() {
			return this.id;
		}

	}

	/**
	 * Stop when the metric has not improved for {@code patience} epochs (0 = never stop
	 * early); the best epoch's weights are the ones kept.
	 */
	public record EarlyStopping(int patience, EarlyStoppingMetric metric) {
	}

}
