package com.acme.finetune.job;

/**
 * A job's life:
 * {@code QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED | STOPPED_EARLY}.
 * {@code STOPPED_EARLY} is a sweep trial that its sweep's early termination stopped at an
 * epoch boundary: it trained fewer epochs than asked, and keeps its metrics and model.
 */
public enum JobStatus {

	QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, STOPPED_EARLY;

	public boolean isTerminal() {
		return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == STOPPED_EARLY;
	}

	/** Whether the job ended with a model. */
	public boolean hasModel() {
		return this == SUCCEEDED || this == STOPPED_EARLY;
	}

}
