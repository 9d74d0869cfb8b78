package com.acme.finetune.training;

/** One epoch's numbers, as stored and served by the job system. */
public record EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy,
		double learningRate, long durationMs, double imagesPerSecond) {
}
