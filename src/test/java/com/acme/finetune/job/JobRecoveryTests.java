package com.acme.finetune.job;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import javax.sql.DataSource;

import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.registry.RegisteredModels;
import com.acme.finetune.AppRoles;
import com.acme.finetune.TestDatabaseConfiguration;
import com.acme.finetune.model.ModelCatalog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A job is never left RUNNING without a lease, whatever fails: a worker whose own
 * bookkeeping fails (a database blip in {@code end()}, an {@code Error}) has its
 * execution retried, and the retry recovers the RUNNING job; a job left with no execution
 * at all is found by the periodic sweep. Runs a real {@link JobExecutor}, queue and
 * training runner on one worker node; the failure is injected at the executor's
 * repository. (The same configuration as JobQueueTests: the application has no worker
 * role, so only the node under test takes work.)
 */
@SpringBootTest(properties = "app.roles=api")
@Import(TestDatabaseConfiguration.class)
class JobRecoveryTests {

	@Autowired
	DataSource dataSource;

	@Autowired
	ObjectProvider<EpochGate> gate;

	@Autowired
	JobProperties properties;

	@Autowired
	JobRepository jobs;

	@Autowired
	JobEpochRepository epochs;

	@Autowired
	JobEvents events;

	@Autowired
	JobRunner runner;

	@Autowired
	ModelCatalog models;

	@Autowired
	JobMetrics metrics;

	@Autowired
	ObjectMapper json;

	@Autowired
	TransactionTemplate transaction;

	@Autowired
	JdbcClient jdbc;

	@Autowired
	private DatasetService datasets;

	@Autowired
	private RegisteredModels registry;

	@Autowired
	private JobCheckpoints checkpoints;

	private JobQueue queue;

	private JobScheduler scheduler;

	private final Set<String> leaselessRunning = ConcurrentHashMap.newKeySet();

	private final AtomicBoolean watching = new AtomicBoolean();

	@AfterEach
	void stop() {
		this.watching.set(false);
		if (this.scheduler != null) {
			this.scheduler.stop();
		}
	}

	static Stream<Throwable> failures() {
		return Stream.of(new DataAccessResourceFailureException("simulated: connection reset"),
				new StackOverflowError("simulated"));
	}

	@ParameterizedTest
	@MethodSource("failures")
	void whenRecordingTheEndFailsOnceTheRetryRecoversTheRunningJob(Throwable failure) {
		AtomicInteger failuresLeft = new AtomicInteger(1);
		startWorker(failing(this.jobs, "end", failuresLeft, failure));
		// its dataset does not exist, so every attempt fails fast in the real runner
		UUID job = insertJob(JobStatus.QUEUED, 0, Instant.now());
		watch(job);
		this.queue.enqueue(job);
		JobEntity ended = awaitTerminal(job);
		assertThat(failuresLeft).hasValue(0);
		assertThat(ended.status).isEqualTo(JobStatus.FAILED);
		assertThat(ended.errorMessage).contains("could not be prepared");
		// the attempt whose end was lost counts; the retry ran it again
		assertThat(ended.attempts).isEqualTo(2);
		assertThat(statusEvents(job)).containsSubsequence("RUNNING", "QUEUED", "RUNNING", "FAILED");
		assertThat(this.leaselessRunning).isEmpty();
		awaitNoExecution(job);
	}

	@Test
	void jobsLeftWithoutAnExecutionAreQueuedAgainByTheSweep() {
		startWorker(this.jobs);
		Instant longAgo = Instant.now().minus(Duration.ofHours(1));
		// RUNNING with its attempts used up and nothing in the queue: as an older version
		// left jobs whose retry dropped the execution
		UUID exhausted = insertJob(JobStatus.RUNNING, this.properties.maxAttempts(), longAgo);
		UUID queued = insertJob(JobStatus.QUEUED, 0, longAgo);
		JobEntity failed = awaitTerminal(exhausted);
		assertThat(failed.status).isEqualTo(JobStatus.FAILED);
		assertThat(failed.errorType).isEqualTo("AttemptLost");
		assertThat(failed.errorMessage).contains("giving up after " + this.properties.maxAttempts());
		JobEntity ran = awaitTerminal(queued);
		assertThat(ran.attempts).isEqualTo(1);
		assertThat(ran.errorMessage).contains("could not be prepared");
	}

	@Test
	void theSweepSparesJobsThatChangedRecently() {
		// a queue that is not started: the sweep is called directly
		this.queue = new JobQueue(this.dataSource, this.properties);
		UUID fresh = insertJob(JobStatus.RUNNING, 1, Instant.now());
		UUID stale = insertJob(JobStatus.RUNNING, 1, Instant.now().minus(Duration.ofHours(1)));
		try {
			executor(this.jobs).reviveOrphans();
			assertThat(executions(fresh)).isZero();
			assertThat(executions(stale)).isOne();
		}
		finally {
			for (UUID job : List.of(fresh, stale)) {
				this.jdbc.sql("delete from scheduled_tasks where task_instance = ?").param(job.toString()).update();
				this.jdbc.sql("update jobs set status = 'FAILED' where id = ?").param(job).update();
			}
		}
	}

	private void startWorker(JobRepository repository) {
		JobProperties p = this.properties;
		JobProperties node = new JobProperties(1, p.maxAttempts(), Duration.ofMillis(100), p.heartbeatInterval(),
				p.missedHeartbeats(), Duration.ofSeconds(5), Duration.ZERO, "recovery-node", p.childJvmOptions(),
				p.callbackSecret(), p.callbackMaxRetries(), p.checkpointRetention());
		this.queue = new JobQueue(this.dataSource, node);
		this.scheduler = new JobScheduler(this.queue, new AppRoles(List.of("worker")), executor(repository), null,
				List.of());
		this.scheduler.start();
	}

	private JobExecutor executor(JobRepository repository) {
		return new JobExecutor(repository, this.epochs, this.events, this.runner, this.models, this.properties,
				this.metrics, this.queue, this.json, this.transaction, this.datasets, this.registry, this.checkpoints,
				this.gate, com.acme.finetune.tracing.Traces.NONE);
	}

	/** The repository, with one method failing the first {@code times} calls. */
	private static JobRepository failing(JobRepository real, String method, AtomicInteger times, Throwable failure) {
		InvocationHandler handler = (proxy, invoked, args) -> {
			if (invoked.getName().equals(method) && times.getAndUpdate((n) -> Math.max(0, n - 1)) > 0) {
				throw failure;
			}
			try {
				return invoked.invoke(real, args);
			}
			catch (InvocationTargetException ex) {
				throw ex.getCause();
			}
		};
		return (JobRepository) Proxy.newProxyInstance(JobRepository.class.getClassLoader(),
				new Class<?>[] { JobRepository.class }, handler);
	}

	private UUID insertJob(JobStatus status, int attempts, Instant updatedAt) {
		JobSpec spec = JobSpecParser.parse(this.json.readTree("""
				{"datasetId": "%s", "baseModel": "resnet50-scratch",
				 "hyperparameters": {"epochs": 1, "imageSize": 32, "batchSize": 4}}""".formatted(UUID.randomUUID())))
			.spec();
		JobEntity job = new JobEntity();
		job.id = UUID.randomUUID();
		job.status = status;
		job.datasetId = spec.datasetId();
		job.baseModel = spec.baseModel();
		job.spec = this.json.writeValueAsString(spec);
		job.totalEpochs = 1;
		job.attempts = attempts;
		job.node = (status == JobStatus.RUNNING) ? "vanished-node" : null;
		job.createdAt = updatedAt;
		job.updatedAt = updatedAt;
		this.jobs.saveAndFlush(job);
		return job.id;
	}

	/**
	 * Samples the job while it runs, noting any moment it is RUNNING with no execution in
	 * the queue.
	 */
	private void watch(UUID job) {
		this.watching.set(true);
		Thread watcher = new Thread(() -> {
			while (this.watching.get()) {
				Map<String, Object> row = this.jdbc
					.sql("""
							select j.status, (select count(*) from scheduled_tasks s where s.task_instance = ?) as executions
							from jobs j where j.id = ?""")
					.params(job.toString(), job)
					.query()
					.singleRow();
				if ("RUNNING".equals(row.get("status")) && ((Number) row.get("executions")).intValue() == 0) {
					this.leaselessRunning.add(job.toString());
				}
				try {
					Thread.sleep(20);
				}
				catch (InterruptedException ex) {
					return;
				}
			}
		});
		watcher.setDaemon(true);
		watcher.start();
	}

	private JobEntity awaitTerminal(UUID job) {
		await().atMost(Duration.ofSeconds(60))
			.pollInterval(Duration.ofMillis(100))
			.until(() -> this.jobs.findById(job).map((j) -> j.status.isTerminal()).orElse(false));
		return this.jobs.findById(job).orElseThrow();
	}

	private void awaitNoExecution(UUID job) {
		await().atMost(Duration.ofSeconds(10)).until(() -> executions(job) == 0);
	}

	private int executions(UUID job) {
		return this.jdbc.sql("select count(*) from scheduled_tasks where task_instance = ?")
			.param(job.toString())
			.query(Integer.class)
			.single();
	}

	private List<String> statusEvents(UUID job) {
		return this.events.after(job, 0, 1000)
			.stream()
			.filter((e) -> e.type().equals(JobEvents.STATUS))
			.map((e) -> this.json.readTree(e.data()).get("status").asString())
			.toList();
	}

}
