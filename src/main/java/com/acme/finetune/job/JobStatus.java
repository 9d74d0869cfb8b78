package com.acme.finetune.job;

/** A job's life: {@code QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED}. */
public enum JobStatus {

	QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

	public boolean isTerminal() {
		return this == SUCCEEDED || this == FAILED || this == CANCELLED;
	}

}
