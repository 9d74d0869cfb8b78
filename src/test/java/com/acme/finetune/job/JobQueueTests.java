package com.acme.finetune.job;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

import javax.sql.DataSource;

import com.acme.finetune.AppRoles;
import com.acme.finetune.TestDatabaseConfiguration;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The queue's delivery guarantee against real PostgreSQL: two worker nodes on one
 * database run each of many jobs exactly once. The application itself runs without the
 * worker role here so that only the two nodes under test take work.
 */
@SpringBootTest(properties = "app.roles=api")
@Import(TestDatabaseConfiguration.class)
class JobQueueTests {

	@Autowired
	DataSource dataSource;

	@Autowired
	JobProperties properties;

	@Test
	void twoWorkersRunEachOfManyJobsExactlyOnce() {
		Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
		Set<String> nodesThatWorked = ConcurrentHashMap.newKeySet();
		JobWork work = new JobWork() {

			@Override
			public boolean execute(UUID jobId, String node, BooleanSupplier shuttingDown) {
				runs.computeIfAbsent(jobId, (id) -> new AtomicInteger()).incrementAndGet();
				nodesThatWorked.add(node);
				sleep(20);
				return false;
			}

			@Override
			public boolean workerDied(UUID jobId) {
				return false;
			}

		};
		JobScheduler first = scheduler("node-a", work);
		JobScheduler second = scheduler("node-b", work);
		List<UUID> jobs = IntStream.range(0, 60).mapToObj((i) -> UUID.randomUUID()).toList();
		try {
			first.start();
			second.start();
			jobs.forEach(first.queue()::enqueue);
			await().atMost(Duration.ofSeconds(60)).until(() -> runs.size() == jobs.size());
			sleep(1500);
		}
		finally {
			first.stop();
			second.stop();
		}
		assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(jobs);
		assertThat(runs.values()).allSatisfy((count) -> assertThat(count.get()).isEqualTo(1));
		assertThat(nodesThatWorked).containsExactlyInAnyOrder("node-a", "node-b");
	}

	@Test
	void aJobThatGoesBackToTheQueueRunsAgain() {
		Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
		JobWork work = new JobWork() {

			@Override
			public boolean execute(UUID jobId, String node, BooleanSupplier shuttingDown) {
				return runs.computeIfAbsent(jobId, (id) -> new AtomicInteger()).incrementAndGet() < 3;
			}

			@Override
			public boolean workerDied(UUID jobId) {
				return false;
			}

		};
		JobScheduler scheduler = scheduler("node-c", work);
		UUID job = UUID.randomUUID();
		try {
			scheduler.start();
			scheduler.queue().enqueue(job);
			await().atMost(Duration.ofSeconds(30)).until(() -> runs.containsKey(job) && runs.get(job).get() == 3);
			sleep(1000);
		}
		finally {
			scheduler.stop();
		}
		assertThat(runs.get(job)).hasValue(3);
	}

	private JobScheduler scheduler(String node, JobWork work) {
		JobProperties p = this.properties;
		JobProperties nodeProperties = new JobProperties(2, p.maxAttempts(), Duration.ofMillis(100),
				p.heartbeatInterval(), p.missedHeartbeats(), Duration.ofSeconds(5), Duration.ZERO, node,
				p.childJvmOptions(), p.callbackSecret(), p.callbackMaxRetries(), p.checkpointRetention());
		return new JobScheduler(new JobQueue(this.dataSource, nodeProperties), new AppRoles(List.of("worker")), work,
				null, List.of());
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
