package com.acme.finetune.job;

import java.util.UUID;
import java.util.function.BooleanSupplier;

/** What the queue asks of a worker; {@link JobExecutor} is the real one. */
interface JobWork {

	/**
	 * Runs one attempt of a queued job on this node.
	 * @return whether the job went back to the queue and must be scheduled again
	 */
	boolean execute(UUID jobId, String node, BooleanSupplier shuttingDown);

	/**
	 * Called on another node when the worker running a job stopped renewing its lease.
	 * @return whether the job must be scheduled again
	 */
	boolean workerDied(UUID jobId);

	/**
	 * Called periodically on one node: queues again every active job that has no
	 * execution left (its attempt ended without recording an outcome, or it was left
	 * RUNNING by an older version), so that it is retried or failed instead of staying
	 * RUNNING with no lease.
	 */
	default void reviveOrphans() {
	}

}
