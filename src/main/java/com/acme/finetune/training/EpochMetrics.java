package com.acme.finetune.training;

/**
 * One epoch's numbers, as stored and served by the job system.
 *
 * @param learningRate the rate of the epoch's last step (before per-stage multipliers)
 * @param phase the 0-based phase of the freeze schedule the epoch trained in
 * @param frozenUpTo that phase's freeze bound ({@code none}, {@code stem} …)
 */
public record EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy,
		double learningRate, long durationMs, double imagesPerSecond, int phase, String frozenUpTo) {

	/** An epoch of a run without a freeze schedule. */
	public EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy,
			double learningRate, long durationMs, double imagesPerSecond) {
		this(epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, learningRate, durationMs, imagesPerSecond, 0, null);
	}

}
