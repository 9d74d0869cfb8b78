package com.acme.finetune.job;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.StandardWebhooksVerifier;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.web.servlet.client.RestTestClient;

import static com.acme.finetune.support.TestApi.list;
import static com.acme.finetune.support.TestApi.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Jobs end to end against real PostgreSQL and a real training process: upload a generated
 * dataset, train from-scratch ResNet-50s at 32 px, and exercise cancel, process death,
 * worker death, SSE and idempotency.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobFlowTests extends AbstractIntegrationTests {

	private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

	@Autowired
	RestTestClient client;

	@Autowired
	JdbcClient jdbc;

	@Autowired
	JobScheduler scheduler;

	@Autowired
	org.springframework.transaction.support.TransactionTemplate transaction;

	@LocalServerPort
	int port;

	String datasetId;

	@BeforeAll
	void uploadDataset() {
		this.datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(8, 40), "0.25");
	}

	@Test
	void aJobRunsToAModelWithMetricsAndEvents() {
		Map<String, Object> job = submit(spec(2, "none"), null);
		assertThat(job.get("status")).isEqualTo("QUEUED");
		String jobId = (String) job.get("id");
		Map<String, Object> done = awaitStatus(jobId, "SUCCEEDED");
		assertThat(done.get("modelId")).isNotNull();
		assertThat(done.get("attempts")).isEqualTo(1);
		assertThat(map(done.get("progress")).get("percent")).isEqualTo(100.0);
		assertThat(done.get("startedAt")).isNotNull();
		assertThat(done.get("finishedAt")).isNotNull();

		Map<String, Object> metrics = get("/api/v1/jobs/" + jobId + "/metrics");
		List<Map<String, Object>> epochs = list(metrics.get("epochs"));
		assertThat(epochs).hasSize(2);
		assertThat(epochs).allSatisfy((e) -> {
			assertThat((Double) e.get("trainLoss")).isFinite();
			assertThat(e.get("durationMs")).isNotNull();
			assertThat((Double) e.get("imagesPerSecond")).isPositive();
		});
		Map<String, Object> finalMetrics = map(metrics.get("final"));
		assertThat(map(finalMetrics.get("perClass"))).containsOnlyKeys("blue", "red");
		assertThat(map(finalMetrics.get("confusionMatrix")).get("labels")).isEqualTo(List.of("blue", "red"));
		assertThat(finalMetrics.get("trainingPrecision")).as("app.djl.bf16=false in tests").isEqualTo("fp32");

		Map<String, Object> model = get("/api/v1/models/" + done.get("modelId"));
		assertThat(model.get("jobId")).isEqualTo(jobId);
		assertThat(model.get("labels")).isEqualTo(List.of("blue", "red"));
		assertThat(model.get("imageSize")).isEqualTo(32);

		List<Sse> events = readEvents(jobId, null);
		assertThat(events).extracting(Sse::event).startsWith("status").endsWith("done").contains("epoch", "progress");
		assertThat(events.stream().filter((e) -> e.event().equals("status")).map(Sse::data).toList())
			.anySatisfy((d) -> assertThat(d).contains("RUNNING"))
			.anySatisfy((d) -> assertThat(d).contains("SUCCEEDED"));
		// a client that reconnects after the second event gets exactly the rest
		List<Sse> resumed = readEvents(jobId, events.get(1).id());
		assertThat(resumed).isEqualTo(events.subList(2, events.size()));
	}

	@Test
	void cancelStopsARunningJobWithinAStep() {
		String jobId = (String) submit(spec(50, "none"), null).get("id");
		awaitProgress(jobId);
		Instant cancelledAt = Instant.now();
		this.client.post().uri("/api/v1/jobs/" + jobId + ":cancel").exchange().expectStatus().isAccepted();
		Map<String, Object> job = awaitStatus(jobId, "CANCELLED");
		assertThat(Duration.between(cancelledAt, Instant.now())).isLessThan(Duration.ofSeconds(30));
		assertThat(job.get("modelId")).isNull();
		this.client.post()
			.uri("/api/v1/jobs/" + jobId + ":cancel")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.CONFLICT.uri().toString());
	}

	@Test
	void killingTheTrainingProcessRetriesTheJob() {
		String jobId = (String) submit(spec(8, "layer3"), null).get("id");
		awaitProgress(jobId);
		ProcessHandle training = trainingProcess().orElseThrow(() -> new AssertionError("no training process among "
				+ ProcessHandle.current().descendants().map((p) -> p.pid() + " " + p.info()).toList()));
		training.destroyForcibly();
		Map<String, Object> job = awaitStatus(jobId, "SUCCEEDED");
		assertThat(job.get("attempts")).isEqualTo(2);
		assertThat(list(get("/api/v1/jobs/" + jobId + "/metrics").get("epochs"))).hasSize(8);
		List<Sse> events = readEvents(jobId, null);
		assertThat(events.stream().filter((e) -> e.event().equals("status")).map(Sse::data).toList())
			.anySatisfy((d) -> assertThat(d).contains("QUEUED").contains("exited unexpectedly"));
	}

	/**
	 * The training process killed during epoch 3 of 4: attempt 2 continues from the
	 * checkpoint of epoch 2, so epochs 1 and 2 are neither trained nor recorded again.
	 */
	@Test
	void aKilledAttemptResumesFromItsLastCompletedEpoch() {
		String jobId = (String) submit(slowSpec(4), null).get("id");
		await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
			Map<String, Object> progress = map(get("/api/v1/jobs/" + jobId).get("progress"));
			return ((Number) progress.get("epoch")).intValue() == 3 && ((Number) progress.get("step")).intValue() > 0;
		});
		trainingProcess().orElseThrow().destroyForcibly();
		Map<String, Object> job = awaitStatus(jobId, "SUCCEEDED");
		assertThat(job.get("attempts")).isEqualTo(2);
		List<Map<String, Object>> rows = list(get("/api/v1/jobs/" + jobId + "/metrics").get("epochs"));
		assertThat(rows).extracting((e) -> e.get("epoch")).containsExactly(1, 2, 3, 4);
		List<Sse> events = readEvents(jobId, null);
		// every epoch recorded once: epochs 1 and 2 were not trained again
		assertThat(events.stream().filter((e) -> e.event().equals("epoch")).map(JobFlowTests::epochOf).toList())
			.containsExactly(1, 2, 3, 4);
		int requeued = indexOf(events, "status", "QUEUED", 1);
		assertThat(requeued).as("requeued after the kill").isPositive();
		List<Integer> epochsAfter = events.subList(requeued, events.size())
			.stream()
			.filter((e) -> e.event().equals("progress") || e.event().equals("epoch"))
			.map(JobFlowTests::epochOf)
			.toList();
		assertThat(epochsAfter).isNotEmpty().allMatch((epoch) -> epoch >= 2);
		assertThat(epochsAfter).contains(3, 4);
	}

	@Test
	void aCancelledJobResumesFromItsCheckpoint() {
		String jobId = (String) submit(slowSpec(3), null).get("id");
		await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
			Map<String, Object> progress = map(get("/api/v1/jobs/" + jobId).get("progress"));
			return ((Number) progress.get("epoch")).intValue() == 2 && ((Number) progress.get("step")).intValue() > 0;
		});
		this.client.post().uri("/api/v1/jobs/" + jobId + ":cancel").exchange().expectStatus().isAccepted();
		awaitStatus(jobId, "CANCELLED");
		// a finished job cannot be resumed twice, a running one not at all
		this.client.post()
			.uri("/api/v1/jobs/" + jobId + ":resume")
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody()
			.jsonPath("$.status")
			.isEqualTo("QUEUED");
		Map<String, Object> done = awaitStatus(jobId, "SUCCEEDED");
		assertThat(done.get("modelId")).isNotNull();
		assertThat(list(get("/api/v1/jobs/" + jobId + "/metrics").get("epochs"))).extracting((e) -> e.get("epoch"))
			.containsExactly(1, 2, 3);
		this.client.post()
			.uri("/api/v1/jobs/" + jobId + ":resume")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.CONFLICT.uri().toString());
	}

	@Test
	void aJobWithoutACheckpointCannotBeResumed() {
		String jobId = (String) submit(slowSpec(3), null).get("id");
		this.client.post().uri("/api/v1/jobs/" + jobId + ":cancel").exchange().expectStatus().isAccepted();
		awaitStatus(jobId, "CANCELLED");
		this.client.post()
			.uri("/api/v1/jobs/" + jobId + ":resume")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT)
			.expectBody()
			.jsonPath("$.detail")
			.value((detail) -> assertThat((String) detail).contains("no checkpoint"));
	}

	private static int epochOf(Sse event) {
		return ((Number) tools.jackson.databind.json.JsonMapper.builder()
			.build()
			.readValue(event.data(), Map.class)
			.get("epoch")).intValue();
	}

	/** Two images per step: epochs long enough to act within one. */
	private Map<String, Object> slowSpec(int epochs) {
		return Map.of("datasetId", this.datasetId, "baseModel", "resnet50-scratch", "hyperparameters",
				Map.of("epochs", epochs, "batchSize", 2, "imageSize", 32, "seed", 7), "device", "cpu");
	}

	/**
	 * The index of the {@code n}th (0-based) event of a type whose data contains text.
	 */
	private static int indexOf(List<Sse> events, String type, String text, int n) {
		int seen = 0;
		for (int i = 0; i < events.size(); i++) {
			if (events.get(i).event().equals(type) && events.get(i).data().contains(text) && seen++ == n) {
				return i;
			}
		}
		return -1;
	}

	@Test
	void aJobWhoseWorkerDiedIsRequeuedOrFailsAfterMaxAttempts() {
		String retried = deadWorkerJob(1);
		String exhausted = deadWorkerJob(3);
		Map<String, Object> failed = awaitStatus(exhausted, "FAILED");
		assertThat(map(failed.get("error")).get("message")).asString().contains("stopped responding");
		assertThat(map(failed.get("error")).get("type")).isEqualTo("WorkerLost");
		Map<String, Object> succeeded = awaitStatus(retried, "SUCCEEDED");
		assertThat(succeeded.get("attempts")).isEqualTo(2);
	}

	@Test
	void aDatabaseBlipWhileRecordingSuccessKeepsTheTrainedModel() {
		String jobId = (String) submit(spec(1, "layer4"), null).get("id");
		// PostgreSQL refuses the job's first move to SUCCEEDED, as a dropped connection
		// would: the worker's own bookkeeping fails after the model was registered
		this.jdbc.sql("create sequence success_blip").update();
		this.jdbc.sql("""
				create function fail_first_success() returns trigger language plpgsql as $$
				begin
				  if new.id = '%s' and new.status = 'SUCCEEDED' and nextval('success_blip') = 1 then
				    raise exception 'simulated database blip';
				  end if;
				  return new;
				end $$""".formatted(jobId)).update();
		this.jdbc
			.sql("create trigger fail_first_success before update on jobs for each row "
					+ "execute function fail_first_success()")
			.update();
		try {
			Map<String, Object> job = awaitStatus(jobId, "SUCCEEDED");
			assertThat(this.jdbc.sql("select is_called from success_blip").query(Boolean.class).single()).isTrue();
			// the retry found the registered model instead of training again
			assertThat(job.get("attempts")).isEqualTo(1);
			assertThat(job.get("modelId")).isNotNull();
			assertThat(this.jdbc.sql("select count(*) from models where job_id = ?")
				.param(UUID.fromString(jobId))
				.query(Integer.class)
				.single()).isOne();
			assertThat(map(get("/api/v1/jobs/" + jobId + "/metrics").get("final")).get("perClass")).isNotNull();
			assertThat(readEvents(jobId, null).stream().filter((e) -> e.event().equals("done")).toList()).hasSize(1);
		}
		finally {
			this.jdbc.sql("drop trigger fail_first_success on jobs").update();
			this.jdbc.sql("drop function fail_first_success()").update();
			this.jdbc.sql("drop sequence success_blip").update();
		}
	}

	@Test
	void theSameIdempotencyKeyGivesOneJob() {
		String key = UUID.randomUUID().toString();
		Map<String, Object> spec = spec(1, "layer4");
		Map<String, Object> first = submit(spec, key);
		Map<String, Object> second = submit(spec, key);
		assertThat(second.get("id")).isEqualTo(first.get("id"));
		Map<String, Object> other = spec(2, "layer4");
		this.client.post()
			.uri("/api/v1/jobs")
			.header("Idempotency-Key", key)
			.contentType(MediaType.APPLICATION_JSON)
			.body(other)
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.IDEMPOTENCY_KEY_REUSED.uri().toString());
		awaitStatus((String) first.get("id"), "SUCCEEDED");
	}

	@Test
	void badSpecsListEveryViolation() {
		this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId, "freeze", Map.of("upTo", "layer7"), "hyperparameters",
					Map.of("epochs", -1, "optimizer", "rmsprop", "bogus", true)))
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.VALIDATION.uri().toString())
			.jsonPath("$.errors.length()")
			.isEqualTo(4)
			.jsonPath("$.errors[*].field")
			.value((fields) -> assertThat((List<Object>) fields).containsExactlyInAnyOrder("freeze.upTo",
					"hyperparameters.epochs", "hyperparameters.optimizer", "hyperparameters.bogus"));
		this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", UUID.randomUUID().toString(), "baseModel", "resnet50-scratch"))
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("datasetId");
		this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{not json")
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
	}

	@Test
	void theImagenetBackboneFailsFastWhenItCannotBeFetched() {
		this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId))
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.BACKBONE_UNAVAILABLE.uri().toString())
			.jsonPath("$.detail")
			.value((detail) -> assertThat((String) detail).contains("resnet50-imagenet").contains("offline"));
	}

	@Test
	void validateReportsWhatTheJobWouldDo() {
		Map<String, Object> spec = spec(3, "layer4");
		Map<String, Object> validation = this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(spec)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		Map<String, Object> parameters = map(validation.get("parameters"));
		// torchvision: resnet50(num_classes=2) has 23,508,032 + 2,049 * 2 learnable
		// parameters
		assertThat(((Number) parameters.get("total")).longValue()).isEqualTo(23_508_032L + 2_049L * 2);
		assertThat(((Number) parameters.get("trainable")).longValue()).isEqualTo(2_049L * 2);
		assertThat(map(validation.get("embeddingCache")).get("applies")).isEqualTo(true);
		assertThat(map(validation.get("split")).get("train")).isEqualTo(12);
		assertThat((Double) validation.get("estimatedEpochSeconds")).isPositive();
		assertThat(map(validation.get("spec")).get("timeoutMinutes")).isEqualTo(240);
		assertThat(map(validation.get("spec")).get("precision")).isEqualTo("auto");
		// these tests run with bf16 off (app.djl.bf16=false): fp32 either way
		Map<String, Object> precision = map(validation.get("precision"));
		assertThat(precision).containsEntry("requested", "auto")
			.containsEntry("training", "fp32")
			.containsEntry("serving", "fp32");
		assertThat((String) precision.get("reason")).contains("trains in fp32");
		Map<String, Object> half = new HashMap<>(spec);
		half.put("precision", "half");
		this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(half)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("precision");
	}

	@Test
	void aDatasetInUseCannotBeDeleted() {
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.25");
		String jobId = (String) submit(Map.of("datasetId", dataset, "baseModel", "resnet50-scratch", "hyperparameters",
				Map.of("epochs", 1, "imageSize", 32, "batchSize", 4)), null)
			.get("id");
		this.client.delete()
			.uri("/api/v1/datasets/" + dataset)
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT);
		awaitStatus(jobId, "SUCCEEDED");
		this.client.delete().uri("/api/v1/datasets/" + dataset).exchange().expectStatus().isNoContent();
	}

	@Test
	void aStoppingWorkerHandsItsJobBackToTheQueue() {
		String jobId = (String) submit(spec(8, "layer3"), null).get("id");
		awaitProgress(jobId);
		this.scheduler.stop();
		Map<String, Object> handedBack = get("/api/v1/jobs/" + jobId);
		assertThat(handedBack.get("status")).isEqualTo("QUEUED");
		assertThat(trainingProcess()).isEmpty();
		this.scheduler.start();
		Map<String, Object> job = awaitStatus(jobId, "SUCCEEDED");
		assertThat(job.get("attempts")).isEqualTo(2);
	}

	@Test
	void terminalStatusesArePostedToTheCallbackUrlAsStandardWebhooks() throws Exception {
		List<Map<String, String>> attempts = new java.util.concurrent.CopyOnWriteArrayList<>();
		List<byte[]> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
		com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer
			.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
		server.createContext("/hook", (exchange) -> {
			byte[] body = exchange.getRequestBody().readAllBytes();
			Map<String, String> headers = new java.util.HashMap<>();
			exchange.getRequestHeaders()
				.forEach((name, values) -> headers.put(name.toLowerCase(java.util.Locale.ROOT), values.get(0)));
			attempts.add(headers);
			bodies.add(body);
			// the first delivery fails, so the retry path is exercised too
			exchange.sendResponseHeaders((attempts.size() == 1) ? 503 : 204, -1);
			exchange.close();
		});
		server.start();
		try {
			Map<String, Object> spec = new java.util.HashMap<>(spec(1, "layer4"));
			// loopback is refused unless allowed: the test configuration allows 127.0.0.1
			spec.put("callbackUrl", "http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
			String jobId = (String) submit(spec, null).get("id");
			awaitStatus(jobId, "SUCCEEDED");
			await().atMost(Duration.ofSeconds(60)).until(() -> attempts.size() >= 2);
			// a receiver configured with the secret in the Standard Webhooks format
			// verifies the delivery with its own implementation of the scheme
			String secret = "whsec_" + java.util.Base64.getEncoder()
				.encodeToString("test-callback-secret".getBytes(StandardCharsets.UTF_8));
			new StandardWebhooksVerifier(secret).verify(attempts.get(1), bodies.get(1));
			assertThat(new String(bodies.get(1), StandardCharsets.UTF_8)).contains(jobId).contains("SUCCEEDED");
			// the retry is the same message (receivers dedupe on webhook-id), timestamped
			// anew
			assertThat(attempts.get(1).get("webhook-id")).startsWith("msg_")
				.isEqualTo(attempts.get(0).get("webhook-id"));
			assertThat(Long.parseLong(attempts.get(1).get("webhook-timestamp")))
				.isGreaterThanOrEqualTo(Long.parseLong(attempts.get(0).get("webhook-timestamp")));
			// a captured delivery replayed after the tolerance is refused
			java.time.Clock later = java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofMinutes(6));
			assertThatThrownBy(() -> new StandardWebhooksVerifier(secret, later).verify(attempts.get(1), bodies.get(1)))
				.hasMessageContaining("tolerance");
			// and a body altered in transit does not verify
			assertThatThrownBy(() -> new StandardWebhooksVerifier(secret).verify(attempts.get(1),
					new String(bodies.get(1), StandardCharsets.UTF_8).replace("SUCCEEDED", "FAILED")
						.getBytes(StandardCharsets.UTF_8)))
				.hasMessageContaining("no signature matches");
		}
		finally {
			server.stop(0);
		}
	}

	// ---------------------------------------------------------------------------------

	private static final org.springframework.core.ParameterizedTypeReference<Map<String, Object>> MAP = new org.springframework.core.ParameterizedTypeReference<>() {
	};

	private Map<String, Object> spec(int epochs, String upTo) {
		return Map.of("datasetId", this.datasetId, "baseModel", "resnet50-scratch", "freeze",
				Map.of("upTo", upTo, "batchNorm", "frozen"), "hyperparameters",
				Map.of("epochs", epochs, "batchSize", 4, "imageSize", 32, "learningRate", 0.001, "seed", 7), "device",
				"cpu");
	}

	private Map<String, Object> submit(Map<String, Object> spec, String idempotencyKey) {
		RestTestClient.RequestBodySpec request = this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON);
		if (idempotencyKey != null) {
			request.header("Idempotency-Key", idempotencyKey);
		}
		return request.body(spec)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectHeader()
			.exists("Location")
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	private Map<String, Object> get(String path) {
		return TestApi.get(this.client, path);
	}

	private Map<String, Object> awaitStatus(String jobId, String status) {
		await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(300)).until(() -> {
			Object current = get("/api/v1/jobs/" + jobId).get("status");
			if (!status.equals(current) && List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(current)) {
				throw new AssertionError("Job " + jobId + " ended " + current + ": " + get("/api/v1/jobs/" + jobId));
			}
			return status.equals(current);
		});
		return get("/api/v1/jobs/" + jobId);
	}

	private void awaitProgress(String jobId) {
		await().atMost(JOB_TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() -> {
			Map<String, Object> job = get("/api/v1/jobs/" + jobId);
			return "RUNNING".equals(job.get("status"))
					&& ((Number) map(job.get("progress")).get("step")).intValue() > 0;
		});
	}

	/**
	 * A job that a vanished worker held: RUNNING on a node that no longer renews its
	 * lease. Written directly (a copy of a submitted job's spec), so no live worker can
	 * pick it before it looks abandoned.
	 */
	private String deadWorkerJob(int attempts) {
		String template = (String) submit(spec(1, "layer4"), null).get("id");
		UUID id = UUID.randomUUID();
		Timestamp longAgo = Timestamp.from(Instant.now().minus(Duration.ofHours(1)));
		this.transaction.executeWithoutResult((status) -> {
			this.jdbc.sql("""
					insert into jobs (id, status, dataset_id, base_model, spec, progress_epoch, total_epochs,
					  progress_step, total_steps, percent, attempts, node, cancel_requested, created_at, started_at,
					  updated_at)
					select ?, 'RUNNING', dataset_id, base_model, spec, 0, total_epochs, 0, 0, 0, ?, 'dead-node',
					  false, created_at, ?, ? from jobs where id = ?""")
				.params(id, attempts, longAgo, longAgo, UUID.fromString(template))
				.update();
			this.jdbc.sql("""
					insert into scheduled_tasks (task_name, task_instance, execution_time, picked, picked_by,
					  last_heartbeat, version) values ('train-job', ?, ?, true, 'dead-node', ?, 1)""")
				.params(id.toString(), longAgo, longAgo)
				.update();
		});
		return id.toString();
	}

	private static Optional<ProcessHandle> trainingProcess() {
		return ProcessHandle.current()
			.descendants()
			.filter((p) -> p.info()
				.commandLine()
				.orElse(String.join(" ", p.info().arguments().orElse(new String[0])))
				.contains(TrainingProcessMain.class.getName()))
			.findFirst();
	}

	private List<Sse> readEvents(String jobId, String lastEventId) {
		HttpRequest.Builder request = HttpRequest
			.newBuilder(URI.create("http://localhost:" + this.port + "/api/v1/jobs/" + jobId + "/events"))
			.timeout(Duration.ofSeconds(30))
			.header("Accept", "text/event-stream");
		if (lastEventId != null) {
			request.header("Last-Event-ID", lastEventId);
		}
		List<Sse> events = new ArrayList<>();
		try {
			HttpResponse<java.io.InputStream> response = HttpClient.newHttpClient()
				.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
			assertThat(response.statusCode()).isEqualTo(200);
			try (BufferedReader in = new BufferedReader(
					new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
				String id = null;
				String event = null;
				StringBuilder data = new StringBuilder();
				String line;
				while ((line = in.readLine()) != null) {
					if (line.isEmpty()) {
						if (event != null) {
							events.add(new Sse(id, event, data.toString()));
						}
						id = null;
						event = null;
						data.setLength(0);
					}
					else if (line.startsWith("id:")) {
						id = line.substring(3).trim();
					}
					else if (line.startsWith("event:")) {
						event = line.substring(6).trim();
					}
					else if (line.startsWith("data:")) {
						data.append(line.substring(5).trim());
					}
				}
			}
		}
		catch (Exception ex) {
			throw new AssertionError(ex);
		}
		return events;
	}

	record Sse(String id, String event, String data) {
	}

}
