package com.acme.finetune.training;

/**
 * Thrown out of a run whose training loss stopped being a number: the weights are ruined,
 * so no model is written and the job fails with a hint instead.
 */
public class TrainingDivergedException extends RuntimeException {

	public TrainingDivergedException(int epoch, int step, float loss, double learningRate) {
		super("Training diverged: the loss became " + loss + " at epoch " + epoch + ", step " + step
				+ ". Try a lower learningRate (this run used " + learningRate
				+ "), and from scratch batchNorm=train, which keeps the activations normalised");
	}

}
