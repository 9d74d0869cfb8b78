package com.acme.finetune.job;

import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * Work of another kind than training that runs on the workers through the job queue
 * (evaluations, batch predictions): each kind is a db-scheduler task of its own on the
 * same worker scheduler, so it shares the training jobs' threads (one PyTorch workload
 * per worker at a time), their lease and heartbeat, and their recovery when a worker
 * dies. Implementations are Spring beans; the queue finds them when it starts.
 */
public interface QueuedWork {

	/**
	 * The task name of this kind in the queue table; unique, at most 100 characters.
	 */
	String kind();

	/**
	 * Runs one attempt of the queued item on this node.
	 * @param shuttingDown true once this worker is stopping: stop at a safe point and
	 * return true
	 * @return whether the item went back to the queue and must be scheduled again
	 */
	boolean execute(UUID id, String node, BooleanSupplier shuttingDown);

	/**
	 * Called on another node when the worker running the item stopped renewing its lease.
	 * @return whether the item must be scheduled again
	 */
	boolean workerDied(UUID id);

	/**
	 * Called periodically on one node: the ids of the items that are active but have had
	 * no change for longer than a lease, so that those without an execution in the queue
	 * are queued again.
	 */
	default java.util.List<UUID> activeSince(java.time.Instant before) {
		return java.util.List.of();
	}

}
