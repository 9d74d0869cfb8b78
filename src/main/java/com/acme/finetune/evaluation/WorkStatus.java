package com.acme.finetune.evaluation;

/** Where an evaluation or batch prediction is; the same states as a job's. */
public enum WorkStatus {

	QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

	public boolean isTerminal() {
		return this == SUCCEEDED || this == FAILED || this == CANCELLED;
	}

}
