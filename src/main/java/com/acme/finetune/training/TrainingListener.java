package com.acme.finetune.training;

/**
 * Progress and cancellation hooks of a run; the job system implements it. Methods are
 * called on the training thread, so implementations must be quick.
 */
public interface TrainingListener {

	/** Called once the data and model are ready, before the first step. */
	default void onStart(int totalEpochs, int stepsPerEpoch) {
	}

	/**
	 * Called once the data and model are ready, before the first step; a run resumed from
	 * a checkpoint continues after {@code completedEpochs} (0 for a fresh run).
	 */
	default void onStart(int totalEpochs, int stepsPerEpoch, int completedEpochs) {
		onStart(totalEpochs, stepsPerEpoch);
	}

	/**
	 * Called after each training step (1-based {@code step} within the 1-based epoch).
	 */
	default void onStep(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
	}

	/**
	 * Called after each epoch's checkpoint was written: how long it took and its size.
	 */
	default void onCheckpoint(int epoch, long millis, long bytes) {
	}

	/** Called after each epoch's validation. */
	default void onEpoch(EpochMetrics metrics) {
	}

	/**
	 * Asked after each epoch but the last, once its metrics were reported and its
	 * checkpoint written (and once more for the checkpoint's epoch when a run resumes):
	 * {@code true} ends the run here, as early stopping does, with the best epoch's
	 * weights and a result. May block while someone else decides.
	 */
	default boolean stopAfterEpoch(int epoch) {
		return false;
	}

	/**
	 * Polled before every step: returning {@code true} stops the run with a
	 * {@link TrainingCancelledException} within one step.
	 */
	default boolean isCancelled() {
		return false;
	}

	TrainingListener NONE = new TrainingListener() {
	};

}
