package com.acme.finetune.sweep;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.acme.finetune.AbstractApiNodeTests;
import com.acme.finetune.job.JobService;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two replicas on one database: two {@link SweepEngine}s (besides this node's own
 * scheduler) advance the same sweep and decide the same rungs at once, and every trial
 * and every rung decision exists exactly once. On an API node, so the trials stay queued
 * and no training runs; their epochs are written as a worker would record them.
 */
class SweepReplicaTests extends AbstractApiNodeTests {

	@Autowired
	RestTestClient client;

	@Autowired
	SweepStore store;

	@Autowired
	JobService jobs;

	@Autowired
	TransactionTemplate transaction;

	@Autowired
	ObjectMapper json;

	@Autowired
	SweepMetrics metrics;

	@Autowired
	JdbcClient jdbc;

	@Test
	void twoReplicasNeverDuplicateATrialOrARungDecision() throws Exception {
		String datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.25");
		Map<String, Object> body = new HashMap<>();
		body.put("datasetId", datasetId);
		body.put("baseModel", "resnet50-scratch");
		body.put("strategy", "random");
		body.put("maxTrials", 6);
		body.put("parallelTrials", 3);
		body.put("maxEpochs", 3);
		body.put("earlyTermination", Map.of("type", "asha", "minEpochs", 1, "reductionFactor", 3));
		body.put("searchSpace", Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-4, 1e-2))));
		body.put("base", Map.of("hyperparameters", Map.of("batchSize", 4, "imageSize", 32), "device", "cpu"));
		Map<String, Object> created = this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		UUID sweepId = UUID.fromString((String) created.get("id"));
		SweepEngine a = new SweepEngine(this.store, this.jobs, this.transaction, this.json, this.metrics);
		SweepEngine b = new SweepEngine(this.store, this.jobs, this.transaction, this.json, this.metrics);
		ExecutorService pool = Executors.newFixedThreadPool(8);
		try {
			// both replicas advance the sweep over and over, all at once
			race(pool, 8, (i) -> {
				SweepEngine engine = (i % 2 == 0) ? a : b;
				for (int k = 0; k < 10; k++) {
					engine.advance(sweepId);
				}
				return true;
			});
			// a replica that skipped the locked row returns at once: the one holding it
			// (this
			// node's scheduler or another cached test context's) may still be committing
			await().atMost(Duration.ofSeconds(20)).until(() -> this.store.trials(sweepId).size() >= 3);
			race(pool, 8, (i) -> {
				((i % 2 == 0) ? a : b).advance(sweepId);
				return true;
			});
			// nothing ends while no worker runs: exactly parallelTrials trials, one job
			// each
			List<SweepStore.Trial> trials = this.store.trials(sweepId);
			assertThat(trials).extracting(SweepStore.Trial::index).containsExactly(0, 1, 2);
			assertThat(trials).extracting(SweepStore.Trial::jobId).doesNotHaveDuplicates();
			assertThat(this.jdbc.sql("select count(*) from jobs where sweep_id = ?")
				.param(sweepId)
				.query(Long.class)
				.single()).isEqualTo(3);

			// each trial finished its first epoch (rung 1); both replicas decide every
			// trial's rung at once
			double[] accuracy = { 0.9, 0.5, 0.4 };
			for (SweepStore.Trial t : trials) {
				this.jdbc
					.sql("""
							insert into job_epochs (job_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy,
							learning_rate, duration_ms, images_per_second) values (?, 1, 0.5, 0.8, 0.6, ?, 0.001, 100, 10)""")
					.params(t.jobId(), accuracy[t.index()])
					.update();
			}
			Map<UUID, List<Boolean>> answers = new ConcurrentHashMap<>();
			race(pool, 8, (i) -> {
				SweepEngine engine = (i % 2 == 0) ? a : b;
				for (SweepStore.Trial t : trials) {
					boolean proceed = engine.proceed(t.jobId(), 1);
					answers
						.computeIfAbsent(t.jobId(), (id) -> java.util.Collections.synchronizedList(new ArrayList<>()))
						.add(proceed);
				}
				return true;
			});
			List<SweepStore.Decision> decisions = this.store.decisions(sweepId);
			assertThat(decisions).hasSize(3);
			assertThat(decisions).extracting(SweepStore.Decision::jobId)
				.containsExactlyInAnyOrderElementsOf(trials.stream().map(SweepStore.Trial::jobId).toList());
			for (SweepStore.Decision d : decisions) {
				// every replica got the stored answer
				assertThat(answers.get(d.jobId())).hasSize(8).containsOnly("CONTINUE".equals(d.decision()));
			}
			// the best of the three goes on, the others stop (η = 3: the top third)
			assertThat(answers.get(trials.get(0).jobId())).containsOnly(true);
			assertThat(answers.get(trials.get(2).jobId())).containsOnly(false);
			assertThat(this.jdbc.sql("select count(*) from sweep_events where sweep_id = ? and type = 'decision'")
				.param(sweepId)
				.query(Long.class)
				.single()).isEqualTo(3);
			assertThat(this.jdbc.sql("select count(*) from sweep_events where sweep_id = ? and type = 'trial'")
				.param(sweepId)
				.query(Long.class)
				.single()).isEqualTo(3);
		}
		finally {
			pool.shutdownNow();
			this.client.post().uri("/api/v1/sweeps/" + sweepId + ":cancel").exchange();
		}
		await().atMost(Duration.ofSeconds(20))
			.until(() -> this.store.trials(sweepId).stream().noneMatch(SweepStore.Trial::active));
	}

	private interface Task {

		boolean run(int i) throws Exception;

	}

	/** Runs {@code n} tasks released together, and fails on any failure. */
	private static void race(ExecutorService pool, int n, Task task) throws Exception {
		CountDownLatch start = new CountDownLatch(1);
		List<Future<Boolean>> futures = new ArrayList<>();
		for (int i = 0; i < n; i++) {
			int index = i;
			Callable<Boolean> call = () -> {
				start.await();
				return task.run(index);
			};
			futures.add(pool.submit(call));
		}
		start.countDown();
		for (Future<Boolean> f : futures) {
			assertThat(f.get()).isTrue();
		}
	}

}
