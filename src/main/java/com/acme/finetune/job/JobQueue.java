package com.acme.finetune.job;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import javax.sql.DataSource;

import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.TaskInstanceId;

import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.stereotype.Component;

/**
 * The PostgreSQL-backed job queue, on db-scheduler: one execution row per queued job (or
 * item of another {@link QueuedWork} kind, or callback delivery), written in the caller's
 * transaction. {@link JobScheduler} runs them: picked by exactly one worker (optimistic
 * lock or {@code SKIP LOCKED}), with a heartbeat lease so that a dead worker's job is
 * noticed by another node. This side only writes and removes rows, so everything that
 * queues work depends on it and it on nothing of theirs.
 */
@Component
class JobQueue {

	static final String TRAIN_TASK = "train-job";

	static final String CALLBACK_TASK = "job-callback";

	static final String SWEEP_TASK = "job-orphan-sweep";

	static final String CALLBACK_TABLE = "callback_tasks";

	private final JobProperties properties;

	private final DataSource dataSource;

	private final SchedulerClient client;

	private final SchedulerClient callbackClient;

	private final String nodeName;

	JobQueue(DataSource dataSource, JobProperties properties) {
		this.properties = properties;
		// enqueueing takes part in the caller's transaction, so a job row and its
		// execution row are committed together or not at all
		this.dataSource = new TransactionAwareDataSourceProxy(dataSource);
		this.nodeName = nodeName(properties);
		this.client = SchedulerClient.Builder.create(this.dataSource).build();
		this.callbackClient = SchedulerClient.Builder.create(this.dataSource).tableName(CALLBACK_TABLE).build();
	}

	/** The transaction-aware data source the queue and its scheduler use. */
	DataSource dataSource() {
		return this.dataSource;
	}

	JobProperties properties() {
		return this.properties;
	}

	/** Queues a job for training; runs in the caller's transaction. */
	void enqueue(UUID jobId) {
		this.client.schedule(new TaskInstance<Void>(TRAIN_TASK, jobId.toString()), Instant.now());
	}

	/**
	 * Queues an item of another kind of {@link QueuedWork}; in the caller's transaction.
	 */
	void enqueue(String kind, UUID id) {
		enqueueIfAbsent(kind, id);
	}

	/** Removes an item's execution if no worker has picked it yet. */
	void dequeue(String kind, UUID id) {
		try {
			this.client.cancel(TaskInstanceId.of(kind, id.toString()));
		}
		catch (RuntimeException ex) {
			// already picked or gone: the worker sees the item is no longer queued
		}
	}

	/**
	 * Gives an item of another kind an execution unless it has one; false when it had.
	 */
	boolean enqueueIfAbsent(String kind, UUID id) {
		return this.client.scheduleIfNotExists(new TaskInstance<Void>(kind, id.toString()), Instant.now());
	}

	/** Removes a queued job's execution if no worker has picked it yet. */
	void dequeue(UUID jobId) {
		try {
			this.client.cancel(TaskInstanceId.of(TRAIN_TASK, jobId.toString()));
		}
		catch (RuntimeException ex) {
			// already picked or gone: the worker sees the job is no longer QUEUED and
			// drops it
		}
	}

	/**
	 * Gives a job an execution unless it has one; false when it had. A job whose
	 * execution was lost (see {@link JobWork#reviveOrphans}) is queued again this way.
	 */
	boolean enqueueIfAbsent(UUID jobId) {
		return enqueueIfAbsent(TRAIN_TASK, jobId);
	}

	/**
	 * Queues the delivery of a job's callback for its terminal status, with the message
	 * id all its attempts carry.
	 * @param traceparent the trace the delivery continues, or null
	 */
	void enqueueCallback(UUID jobId, String status, String traceparent) {
		JobCallbacks.Message message = JobCallbacks.Message.create(jobId, traceparent);
		this.callbackClient.schedule(new TaskInstance<>(CALLBACK_TASK, jobId + ":" + status, message.data()),
				Instant.now());
	}

	String nodeName() {
		return this.nodeName;
	}

	/**
	 * How long a job's execution may go without a heartbeat before the queue treats its
	 * worker as dead; the sweep runs as often and spares jobs that changed more recently.
	 */
	static Duration leaseTimeout(JobProperties properties) {
		return properties.heartbeatInterval().multipliedBy(properties.missedHeartbeats());
	}

	private static String nodeName(JobProperties properties) {
		if (properties.nodeName() != null && !properties.nodeName().isBlank()) {
			return properties.nodeName();
		}
		String host;
		try {
			host = InetAddress.getLocalHost().getHostName();
		}
		catch (Exception ex) {
			host = "node";
		}
		return host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 4);
	}

}
