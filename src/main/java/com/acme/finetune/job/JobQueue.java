package com.acme.finetune.job;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.acme.finetune.AppRoles;
import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.SchedulerName;
import com.github.kagkarlsson.scheduler.task.CompletionHandler;
import com.github.kagkarlsson.scheduler.task.FailureHandler;
import com.github.kagkarlsson.scheduler.task.Task;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.TaskInstanceId;
import com.github.kagkarlsson.scheduler.task.helper.CustomTask;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.RecurringTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.github.kagkarlsson.scheduler.task.schedule.FixedDelay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.stereotype.Component;

/**
 * The PostgreSQL-backed job queue, on db-scheduler: one execution row per queued job,
 * picked by exactly one worker (optimistic lock or {@code SKIP LOCKED}), with a heartbeat
 * lease so that a dead worker's job is noticed by another node and handed to
 * {@link JobExecutor}'s dead-execution handling. Nodes without the worker role only
 * enqueue.
 */
@Component
class JobQueue implements SmartLifecycle {

	private static final Logger log = LoggerFactory.getLogger(JobQueue.class);

	static final String TRAIN_TASK = "train-job";

	static final String CALLBACK_TASK = "job-callback";

	static final String SWEEP_TASK = "job-orphan-sweep";

	private static final String CALLBACK_TABLE = "callback_tasks";

	private final JobProperties properties;

	private final AppRoles roles;

	private final DataSource dataSource;

	private final CustomTask<Void> trainTask;

	private final OneTimeTask<String> callbackTask;

	private final RecurringTask<Void> sweepTask;

	private final SchedulerClient client;

	private final SchedulerClient callbackClient;

	private final String nodeName;

	private volatile Scheduler scheduler;

	private volatile Scheduler callbackScheduler;

	/** The other kinds of work run by the worker scheduler (evaluations, ...). */
	private final Supplier<List<QueuedWork>> works;

	@Autowired
	JobQueue(DataSource dataSource, JobProperties properties, AppRoles roles, ObjectProvider<JobWork> executor,
			ObjectProvider<JobCallbacks> callbacks, ObjectProvider<QueuedWork> works) {
		this(dataSource, properties, roles, executor::getObject, callbacks::getObject,
				() -> works.orderedStream().toList());
	}

	JobQueue(DataSource dataSource, JobProperties properties, AppRoles roles, Supplier<JobWork> executor,
			Supplier<JobCallbacks> callbacks) {
		this(dataSource, properties, roles, executor, callbacks, List::of);
	}

	/**
	 * The work and callbacks are looked up lazily: they depend on the queue themselves.
	 */
	JobQueue(DataSource dataSource, JobProperties properties, AppRoles roles, Supplier<JobWork> executor,
			Supplier<JobCallbacks> callbacks, Supplier<List<QueuedWork>> works) {
		this.works = works;
		this.properties = properties;
		this.roles = roles;
		// enqueueing takes part in the caller's transaction, so a job row and its
		// execution
		// row are committed together or not at all
		this.dataSource = new TransactionAwareDataSourceProxy(dataSource);
		this.nodeName = nodeName(properties);
		this.trainTask = Tasks.custom(TRAIN_TASK, Void.class).onDeadExecution((complete, operations) -> {
			UUID jobId = UUID.fromString(complete.getExecution().taskInstance.getId());
			if (executor.get().workerDied(jobId)) {
				operations.reschedule(complete, Instant.now().plus(properties.retryDelay()));
			}
			else {
				operations.stop();
			}
		}).onFailure(new FailureHandler.OnFailureRetryLater<>(properties.retryDelay())).execute((instance, context) -> {
			UUID jobId = UUID.fromString(instance.getId());
			return executor.get().execute(jobId, this.nodeName, () -> context.getSchedulerState().isShuttingDown())
					? (complete, operations) -> operations.reschedule(complete,
							Instant.now().plus(properties.retryDelay()))
					: new CompletionHandler.OnCompleteRemove<>();
		});
		this.callbackTask = Tasks.oneTime(CALLBACK_TASK, String.class)
			.onFailure(new FailureHandler.MaxRetriesFailureHandler<>(properties.callbackMaxRetries(),
					new FailureHandler.ExponentialBackoffFailureHandler<>(Duration.ofSeconds(5), 2.0)))
			.execute((instance, context) -> callbacks.get()
				.deliver(JobCallbacks.Message.parse(instance.getId(), instance.getData())));
		// on the callback scheduler, which runs on every node with threads of its own, so
		// a worker busy training does not delay it
		this.sweepTask = Tasks.recurring(SWEEP_TASK, FixedDelay.of(leaseTimeout(properties)))
			.execute((instance, context) -> {
				executor.get().reviveOrphans();
				reviveOrphanedWork();
			});
		this.client = SchedulerClient.Builder.create(this.dataSource, List.of(this.trainTask)).build();
		this.callbackClient = SchedulerClient.Builder.create(this.dataSource, List.of(this.callbackTask))
			.tableName(CALLBACK_TABLE)
			.build();
	}

	/** Queues a job for training; runs in the caller's transaction. */
	void enqueue(UUID jobId) {
		this.client.schedule(this.trainTask.instance(jobId.toString()), Instant.now());
	}

	/**
	 * Queues an item of another kind of {@link QueuedWork}; in the caller's transaction.
	 */
	void enqueue(String kind, UUID id) {
		this.client.scheduleIfNotExists(new TaskInstance<Void>(kind, id.toString()), Instant.now());
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
	 * Queues again the active items of other kinds whose execution was lost, as
	 * {@link JobWork#reviveOrphans} does for jobs.
	 */
	private void reviveOrphanedWork() {
		Instant before = Instant.now().minus(leaseTimeout(this.properties));
		for (QueuedWork work : this.works.get()) {
			for (UUID id : work.activeSince(before)) {
				if (this.client.scheduleIfNotExists(new TaskInstance<Void>(work.kind(), id.toString()),
						Instant.now())) {
					log.warn("{} {} was active with no execution in the queue; queued it again", work.kind(), id);
				}
			}
		}
	}

	/** The worker-side task of one kind of work, with the training task's handlers. */
	private CustomTask<Void> task(QueuedWork work) {
		return Tasks.custom(work.kind(), Void.class).onDeadExecution((complete, operations) -> {
			UUID id = UUID.fromString(complete.getExecution().taskInstance.getId());
			if (work.workerDied(id)) {
				operations.reschedule(complete, Instant.now().plus(this.properties.retryDelay()));
			}
			else {
				operations.stop();
			}
		})
			.onFailure(new FailureHandler.OnFailureRetryLater<>(this.properties.retryDelay()))
			.execute((instance, context) -> {
				UUID id = UUID.fromString(instance.getId());
				return work.execute(id, this.nodeName, () -> context.getSchedulerState().isShuttingDown())
						? (complete, operations) -> operations.reschedule(complete,
								Instant.now().plus(this.properties.retryDelay()))
						: new CompletionHandler.OnCompleteRemove<>();
			});
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
		return this.client.scheduleIfNotExists(this.trainTask.instance(jobId.toString()), Instant.now());
	}

	/**
	 * Queues a callback delivery for a job's terminal status, with the message id all its
	 * attempts carry.
	 */
	/**
	 * Queues the delivery of a job's callback.
	 * @param traceparent the trace the delivery continues, or null
	 */
	void enqueueCallback(UUID jobId, String status, String traceparent) {
		JobCallbacks.Message message = JobCallbacks.Message.create(jobId, traceparent);
		this.callbackClient.schedule(this.callbackTask.instance(jobId + ":" + status, message.data()), Instant.now());
	}

	String nodeName() {
		return this.nodeName;
	}

	@Override
	public void start() {
		this.callbackScheduler = Scheduler.create(this.dataSource, List.<Task<?>>of(this.callbackTask))
			.startTasks(this.sweepTask)
			.tableName(CALLBACK_TABLE)
			.schedulerName(new SchedulerName.Fixed(this.nodeName))
			.threads(2)
			.pollingInterval(this.properties.pollingInterval())
			.heartbeatInterval(this.properties.heartbeatInterval())
			.missedHeartbeatsLimit(this.properties.missedHeartbeats())
			.shutdownMaxWait(Duration.ofSeconds(15))
			.build();
		this.callbackScheduler.start();
		if (!this.roles.worker()) {
			log.info("Node {} has no worker role: jobs are queued here but run elsewhere", this.nodeName);
			return;
		}
		List<Task<?>> tasks = new java.util.ArrayList<>();
		tasks.add(this.trainTask);
		this.works.get().forEach((work) -> tasks.add(task(work)));
		this.scheduler = Scheduler.create(this.dataSource, tasks)
			.schedulerName(new SchedulerName.Fixed(this.nodeName))
			.threads(this.properties.maxConcurrentJobs())
			.pollingInterval(this.properties.pollingInterval())
			.heartbeatInterval(this.properties.heartbeatInterval())
			.missedHeartbeatsLimit(this.properties.missedHeartbeats())
			.shutdownMaxWait(this.properties.shutdownGrace())
			.enableImmediateExecution()
			.build();
		this.scheduler.start();
		log.info("Worker {} started: up to {} concurrent job(s)", this.nodeName, this.properties.maxConcurrentJobs());
	}

	@Override
	public void stop() {
		Scheduler current = this.scheduler;
		if (current != null) {
			// running jobs see isShuttingDown(), stop at a step boundary and requeue
			// themselves
			current.stop();
			this.scheduler = null;
		}
		Scheduler callbacks = this.callbackScheduler;
		if (callbacks != null) {
			callbacks.stop();
			this.callbackScheduler = null;
		}
	}

	@Override
	public boolean isRunning() {
		return this.scheduler != null || this.callbackScheduler != null;
	}

	@Override
	public int getPhase() {
		// stop before the web server's graceful shutdown and long before the DataSource
		// closes
		return Integer.MAX_VALUE - 10;
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
