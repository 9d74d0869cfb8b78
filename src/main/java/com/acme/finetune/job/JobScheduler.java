package com.acme.finetune.job;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.acme.finetune.AppRoles;
import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerName;
import com.github.kagkarlsson.scheduler.task.CompletionHandler;
import com.github.kagkarlsson.scheduler.task.FailureHandler;
import com.github.kagkarlsson.scheduler.task.Task;
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
import org.springframework.stereotype.Component;

/**
 * Runs what {@link JobQueue} holds: on every node a scheduler for callback deliveries and
 * the orphan sweep; on worker nodes one for jobs ({@link JobWork}) and the other kinds of
 * {@link QueuedWork} (evaluations, batch predictions), with a heartbeat lease so that a
 * dead worker's item is handed to its kind's dead-execution handling by another node.
 * Nodes without the worker role only enqueue.
 */
@Component
class JobScheduler implements SmartLifecycle {

	private static final Logger log = LoggerFactory.getLogger(JobScheduler.class);

	private final JobQueue queue;

	private final JobProperties properties;

	private final AppRoles roles;

	private final List<QueuedWork> works;

	private final CustomTask<Void> trainTask;

	private final OneTimeTask<String> callbackTask;

	private final RecurringTask<Void> sweepTask;

	private volatile Scheduler scheduler;

	private volatile Scheduler callbackScheduler;

	@Autowired
	JobScheduler(JobQueue queue, AppRoles roles, JobWork jobs, JobCallbacks callbacks,
			ObjectProvider<QueuedWork> works) {
		this(queue, roles, jobs, callbacks, works.orderedStream().toList());
	}

	/**
	 * @param callbacks delivers job callbacks; null where none are expected (tests)
	 */
	JobScheduler(JobQueue queue, AppRoles roles, JobWork jobs, JobCallbacks callbacks, List<QueuedWork> works) {
		this.queue = queue;
		this.properties = queue.properties();
		this.roles = roles;
		this.works = List.copyOf(works);
		this.trainTask = task(new QueuedWork() {

			@Override
			public String kind() {
				return JobQueue.TRAIN_TASK;
			}

			@Override
			public boolean execute(UUID id, String node, BooleanSupplier shuttingDown) {
				return jobs.execute(id, node, shuttingDown);
			}

			@Override
			public boolean workerDied(UUID id) {
				return jobs.workerDied(id);
			}

		});
		this.callbackTask = Tasks.oneTime(JobQueue.CALLBACK_TASK, String.class)
			.onFailure(new FailureHandler.MaxRetriesFailureHandler<>(this.properties.callbackMaxRetries(),
					new FailureHandler.ExponentialBackoffFailureHandler<>(Duration.ofSeconds(5), 2.0)))
			.execute((instance, context) -> callbacks
				.deliver(JobCallbacks.Message.parse(instance.getId(), instance.getData())));
		// on the callback scheduler, which runs on every node with threads of its own, so
		// a worker busy training does not delay it
		this.sweepTask = Tasks.recurring(JobQueue.SWEEP_TASK, FixedDelay.of(JobQueue.leaseTimeout(this.properties)))
			.execute((instance, context) -> {
				jobs.reviveOrphans();
				reviveOrphanedWork();
			});
	}

	JobQueue queue() {
		return this.queue;
	}

	/**
	 * Queues again the active items of other kinds whose execution was lost, as
	 * {@link JobWork#reviveOrphans} does for jobs.
	 */
	private void reviveOrphanedWork() {
		Instant before = Instant.now().minus(JobQueue.leaseTimeout(this.properties));
		for (QueuedWork work : this.works) {
			for (UUID id : work.activeSince(before)) {
				if (this.queue.enqueueIfAbsent(work.kind(), id)) {
					log.warn("{} {} was active with no execution in the queue; queued it again", work.kind(), id);
				}
			}
		}
	}

	/**
	 * The worker-side task of one kind of work: a dead worker's item is rescheduled when
	 * its kind says so, a failed attempt retried later, one that went back to the queue
	 * rescheduled.
	 */
	private CustomTask<Void> task(QueuedWork work) {
		Duration retryDelay = this.properties.retryDelay();
		return Tasks.custom(work.kind(), Void.class).onDeadExecution((complete, operations) -> {
			UUID id = UUID.fromString(complete.getExecution().taskInstance.getId());
			if (work.workerDied(id)) {
				operations.reschedule(complete, Instant.now().plus(retryDelay));
			}
			else {
				operations.stop();
			}
		}).onFailure(new FailureHandler.OnFailureRetryLater<>(retryDelay)).execute((instance, context) -> {
			UUID id = UUID.fromString(instance.getId());
			return work.execute(id, this.queue.nodeName(), () -> context.getSchedulerState().isShuttingDown())
					? (complete, operations) -> operations.reschedule(complete, Instant.now().plus(retryDelay))
					: new CompletionHandler.OnCompleteRemove<>();
		});
	}

	@Override
	public void start() {
		this.callbackScheduler = Scheduler.create(this.queue.dataSource(), List.<Task<?>>of(this.callbackTask))
			.startTasks(this.sweepTask)
			.tableName(JobQueue.CALLBACK_TABLE)
			.schedulerName(new SchedulerName.Fixed(this.queue.nodeName()))
			.threads(2)
			.pollingInterval(this.properties.pollingInterval())
			.heartbeatInterval(this.properties.heartbeatInterval())
			.missedHeartbeatsLimit(this.properties.missedHeartbeats())
			.shutdownMaxWait(Duration.ofSeconds(15))
			.build();
		this.callbackScheduler.start();
		if (!this.roles.worker()) {
			log.info("Node {} has no worker role: jobs are queued here but run elsewhere", this.queue.nodeName());
			return;
		}
		List<Task<?>> tasks = new ArrayList<>();
		tasks.add(this.trainTask);
		this.works.forEach((work) -> tasks.add(task(work)));
		this.scheduler = Scheduler.create(this.queue.dataSource(), tasks)
			.schedulerName(new SchedulerName.Fixed(this.queue.nodeName()))
			.threads(this.properties.maxConcurrentJobs())
			.pollingInterval(this.properties.pollingInterval())
			.heartbeatInterval(this.properties.heartbeatInterval())
			.missedHeartbeatsLimit(this.properties.missedHeartbeats())
			.shutdownMaxWait(this.properties.shutdownGrace())
			.enableImmediateExecution()
			.build();
		this.scheduler.start();
		log.info("Worker {} started: up to {} concurrent job(s)", this.queue.nodeName(),
				this.properties.maxConcurrentJobs());
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

}
