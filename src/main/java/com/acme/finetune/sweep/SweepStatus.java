package com.acme.finetune.sweep;

/**
 * A sweep's life: {@code RUNNING → SUCCEEDED | FAILED | CANCELLED}. It succeeds when its
 * trials are over (all run, or its budget spent) and one of them produced a model; it
 * fails when none did.
 */
public enum SweepStatus {

	RUNNING, SUCCEEDED, FAILED, CANCELLED;

	public boolean isTerminal() {
		return this != RUNNING;
	}

}
