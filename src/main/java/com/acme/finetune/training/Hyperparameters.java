package com.acme.finetune.training;

import java.util.Locale;

/**
 * Everything that shapes one fine-tuning run apart from the data and the base model. The
 * defaults ({@link #defaults()}) are the seed's recipe.
 *
 * @param warmupEpochs linear learning-rate warm-up from 0 over this many epochs
 * (fractional allowed; 0 = none), on top of {@code lrSchedule}
 * @param stageLearningRates per-stage multipliers of {@code learningRate}
 */
public record Hyperparameters(int epochs, int batchSize, double learningRate, Optimizer optimizer, double momentum,
		double weightDecay, LrSchedule lrSchedule, int imageSize, Augmentation augmentation, double labelSmoothing,
		ClassWeights classWeights, long seed, EarlyStopping earlyStopping, double warmupEpochs,
		StageLearningRates stageLearningRates) {

	public Hyperparameters {
		if (stageLearningRates == null) {
			stageLearningRates = StageLearningRates.uniform();
		}
	}

	/** Without warm-up, every stage at the same rate. */
	public Hyperparameters(int epochs, int batchSize, double learningRate, Optimizer optimizer, double momentum,
			double weightDecay, LrSchedule lrSchedule, int imageSize, Augmentation augmentation, double labelSmoothing,
			ClassWeights classWeights, long seed, EarlyStopping earlyStopping) {
		this(epochs, batchSize, learningRate, optimizer, momentum, weightDecay, lrSchedule, imageSize, augmentation,
				labelSmoothing, classWeights, seed, earlyStopping, 0.0, StageLearningRates.uniform());
	}

	public static Hyperparameters defaults() {
		return new Hyperparameters(10, 32, 0.001, Optimizer.SGD, 0.9, 0.0, LrSchedule.CONSTANT, 224, Augmentation.NONE,
				0.0, ClassWeights.NONE, 42, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
	}

	public Hyperparameters withWarmup(double epochs) {
		return new Hyperparameters(this.epochs, this.batchSize, this.learningRate, this.optimizer, this.momentum,
				this.weightDecay, this.lrSchedule, this.imageSize, this.augmentation, this.labelSmoothing,
				this.classWeights, this.seed, this.earlyStopping, epochs, this.stageLearningRates);
	}

	public Hyperparameters withStageLearningRates(StageLearningRates rates) {
		return new Hyperparameters(this.epochs, this.batchSize, this.learningRate, this.optimizer, this.momentum,
				this.weightDecay, this.lrSchedule, this.imageSize, this.augmentation, this.labelSmoothing,
				this.classWeights, this.seed, this.earlyStopping, this.warmupEpochs, rates);
	}

	public Hyperparameters withEpochs(int value) {
		return new Hyperparameters(value, this.batchSize, this.learningRate, this.optimizer, this.momentum,
				this.weightDecay, this.lrSchedule, this.imageSize, this.augmentation, this.labelSmoothing,
				this.classWeights, this.seed, this.earlyStopping, this.warmupEpochs, this.stageLearningRates);
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
