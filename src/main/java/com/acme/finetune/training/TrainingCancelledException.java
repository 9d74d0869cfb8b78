package com.acme.finetune.training;

/** Thrown out of a run when its listener reported cancellation. */
public class TrainingCancelledException extends RuntimeException {

	public TrainingCancelledException(int epoch, int step) {
		super("Training cancelled at epoch " + epoch + ", step " + step);
	}

}
