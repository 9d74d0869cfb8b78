package com.acme.finetune.training;

/**
 * The learning rate at each training step: the per-epoch schedule (like a PyTorch
 * scheduler stepped once per epoch: step divides by 10 every third of the run, cosine
 * anneals towards 0) times a linear warm-up from 0 over the first {@code warmupEpochs}
 * (fractional: counted in steps), as in Goyal et al.'s large-batch recipe.
 */
final class LearningRateSchedule {

	private final Hyperparameters hp;

	private final int stepsPerEpoch;

	LearningRateSchedule(Hyperparameters hp, int stepsPerEpoch) {
		this.hp = hp;
		this.stepsPerEpoch = Math.max(1, stepsPerEpoch);
	}

	/** The per-epoch schedule's rate of the 0-based epoch, before warm-up. */
	double epochRate(int epochIndex) {
		double base = this.hp.learningRate();
		int epochs = this.hp.epochs();
		return switch (this.hp.lrSchedule()) {
			case CONSTANT -> base;
			case STEP -> base * Math.pow(0.1, epochIndex / Math.max(1, epochs / 3));
			case COSINE -> base * 0.5 * (1 + Math.cos(Math.PI * epochIndex / epochs));
		};
	}

	/**
	 * The rate of a step (0-based within the 0-based epoch): during warm-up it grows
	 * linearly, reaching the schedule's rate once {@code warmupEpochs} have been trained;
	 * the first step already trains (rate 1/warm-up steps of the full one).
	 */
	double stepRate(int epochIndex, int stepIndex) {
		double rate = epochRate(epochIndex);
		double warmup = this.hp.warmupEpochs();
		if (warmup <= 0) {
			return rate;
		}
		double progress = epochIndex + (stepIndex + 1.0) / this.stepsPerEpoch;
		return rate * Math.min(1.0, progress / warmup);
	}

}
