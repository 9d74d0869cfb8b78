package com.acme.finetune.job;

import com.acme.finetune.training.EpochMetrics;

/**
 * One epoch's metrics as clients see them: a value that does not exist (validation loss
 * without a validation split, a diverged loss) is {@code null}, never a non-JSON NaN.
 */
public record EpochView(int epoch, Double trainLoss, Double trainAccuracy, Double valLoss, Double valAccuracy,
		Double learningRate, long durationMs, Double imagesPerSecond, int phase, String frozenUpTo) {

	static EpochView of(EpochMetrics m) {
		return new EpochView(m.epoch(), finite(m.trainLoss()), finite(m.trainAccuracy()), finite(m.valLoss()),
				finite(m.valAccuracy()), finite(m.learningRate()), m.durationMs(), finite(m.imagesPerSecond()),
				m.phase(), m.frozenUpTo());
	}

	private static Double finite(double value) {
		return Double.isFinite(value) ? value : null;
	}

}
