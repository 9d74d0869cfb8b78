package com.acme.finetune.sweep;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static com.acme.finetune.support.TestApi.list;
import static com.acme.finetune.support.TestApi.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Sweeps end to end against real PostgreSQL and real training processes: from-scratch
 * ResNet-50s at 32 px on a generated two-colour set, a few trials of one to three epochs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SweepFlowTests extends AbstractIntegrationTests {

	private static final ParameterizedTypeReference<Map<String, Object>> MAP = TestApi.JSON_OBJECT;

	private static final Duration SWEEP_TIMEOUT = Duration.ofMinutes(6);

	@Autowired
	RestTestClient client;

	@Autowired
	SweepEngine engine;

	@Autowired
	SweepStore store;

	@Autowired
	tools.jackson.databind.ObjectMapper json;

	@LocalServerPort
	int port;

	String datasetId;

	@BeforeAll
	void uploadDataset() {
		this.datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(8, 40), "0.25");
	}

	@Test
	void aBadSweepIsRefusedWithEveryViolation() {
		Map<String, Object> body = new HashMap<>();
		body.put("datasetId", this.datasetId);
		body.put("baseModel", "resnet50-scratch");
		body.put("strategy", "bogus");
		body.put("maxTrials", 0);
		body.put("base", Map.of("hyperparameters", Map.of("epochs", 3)));
		body.put("searchSpace",
				Map.of("hyperparameters.foo", Map.of("choice", List.of(1, 2)), "freeze.upTo",
						Map.of("choice", List.of("layer4", "layer9")), "hyperparameters.batchSize",
						Map.of("uniform", List.of(8, 16)), "hyperparameters.learningRate",
						Map.of("logUniform", List.of(0, 1)), "datasetId", Map.of("choice", List.of("x")),
						"hyperparameters.momentum", Map.of("between", List.of(0, 1))));
		Map<String, Object> problem = this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		assertThat(problem.get("type")).isEqualTo(ProblemType.VALIDATION.uri().toString());
		List<Map<String, Object>> errors = list(problem.get("errors"));
		assertThat(errors).extracting((e) -> e.get("field"))
			.contains("strategy", "maxTrials", "base.hyperparameters.epochs", "searchSpace.hyperparameters.foo",
					"searchSpace.freeze.upTo", "searchSpace.hyperparameters.batchSize",
					"searchSpace.hyperparameters.learningRate.logUniform", "searchSpace.datasetId",
					"searchSpace.hyperparameters.momentum.between");
		assertThat(errors).filteredOn((e) -> e.get("field").equals("searchSpace.freeze.upTo"))
			.singleElement()
			.satisfies((e) -> assertThat((String) e.get("message")).contains("layer9"));
		assertThat(errors).filteredOn((e) -> e.get("field").equals("searchSpace.hyperparameters.foo"))
			.singleElement()
			.satisfies((e) -> assertThat((String) e.get("message")).contains("unknown job-spec path"));

		// a grid cannot enumerate a continuous range
		Map<String, Object> grid = Map.of("datasetId", this.datasetId, "strategy", "grid", "searchSpace",
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-4, 1e-1))));
		this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(grid)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("searchSpace.hyperparameters.learningRate");
	}

	@Test
	void aRandomSweepRunsItsTrialsAsJobsAndNamesTheBestModel() {
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-3, 1e-2))), "random", 1, null);
		body.put("maxTrials", 3);
		body.put("parallelTrials", 2);
		var reply = this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(MAP)
			.returnResult();
		Map<String, Object> created = reply.getResponseBody();
		String id = (String) created.get("id");
		assertThat(reply.getResponseHeaders().getLocation()).hasToString("/api/v1/sweeps/" + id);
		assertThat(created.get("status")).isEqualTo("RUNNING");

		Map<String, Object> done = awaitStatus(id, "SUCCEEDED");
		List<Map<String, Object>> board = list(done.get("leaderboard"));
		assertThat(board).hasSize(3).allSatisfy((t) -> {
			assertThat(t.get("state")).isEqualTo("SUCCEEDED");
			assertThat(t.get("epochs")).isEqualTo(1);
			assertThat(t.get("objective")).isNotNull();
			assertThat(map(t.get("params"))).containsOnlyKeys("hyperparameters.learningRate");
		});
		List<Double> objectives = board.stream().map((t) -> ((Number) t.get("objective")).doubleValue()).toList();
		assertThat(objectives).isSortedAccordingTo(java.util.Comparator.reverseOrder());
		Map<String, Object> best = map(done.get("bestTrial"));
		assertThat(best.get("jobId")).isEqualTo(board.get(0).get("jobId"));
		assertThat(done.get("bestModelId")).isEqualTo(best.get("modelId")).isNotNull();
		assertThat(done.get("modelId")).isEqualTo(done.get("bestModelId"));
		Map<String, Object> progress = map(done.get("progress"));
		assertThat(progress.get("done")).isEqualTo(3);
		assertThat(progress.get("epochsSpent")).isEqualTo(3);
		assertThat(progress.get("epochsFullRun")).isEqualTo(3);

		// the trials are ordinary jobs, tagged with the sweep
		Map<String, Object> jobs = get("/api/v1/jobs?sweepId=" + id);
		assertThat(jobs.get("totalItems")).isEqualTo(3);
		assertThat(list(jobs.get("items"))).allSatisfy((j) -> assertThat(j.get("sweepId")).isEqualTo(id));
		Map<String, Object> job = get("/api/v1/jobs/" + best.get("jobId"));
		double rate = ((Number) map(map(job.get("spec")).get("hyperparameters")).get("learningRate")).doubleValue();
		assertThat(rate).isBetween(1e-3, 1e-2)
			.isEqualTo(((Number) map(best.get("params")).get("hyperparameters.learningRate")).doubleValue());
		assertThat(get("/api/v1/models/" + done.get("bestModelId")).get("jobId")).isEqualTo(best.get("jobId"));

		Map<String, Object> page = get("/api/v1/sweeps?status=SUCCEEDED&size=100");
		assertThat(list(page.get("items"))).extracting((s) -> s.get("id")).contains(id);
		this.client.post()
			.uri("/api/v1/sweeps/" + id + ":cancel")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT);
	}

	@Test
	void ashaStopsTrialsThatFallBehindAtTheirRungAndKeepsTheirModels() throws Exception {
		// trial 0 learns; trials 1 and 2 barely move: at the first rung (epoch 1, η = 2)
		// each is compared with those before it and stopped
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("choice", List.of(0.01, 1e-7, 2e-7))), "grid", 3,
				Map.of("type", "asha", "minEpochs", 1, "reductionFactor", 2));
		body.put("objective", Map.of("metric", "valLoss"));
		String id = (String) post(body).get("id");
		Map<String, Object> done = awaitStatus(id, "SUCCEEDED");
		List<Map<String, Object>> board = list(done.get("leaderboard"));
		Map<Integer, Map<String, Object>> byTrial = new HashMap<>();
		board.forEach((t) -> byTrial.put((Integer) t.get("trial"), t));
		assertThat(byTrial.get(0).get("state")).as("%s", board).isEqualTo("SUCCEEDED");
		assertThat(byTrial.get(0).get("epochs")).isEqualTo(3);
		for (int trial : List.of(1, 2)) {
			Map<String, Object> t = byTrial.get(trial);
			assertThat(t.get("state")).as("%s", board).isEqualTo("STOPPED_EARLY");
			assertThat(t.get("epochs")).isEqualTo(1);
			assertThat(t.get("stoppedAtEpoch")).isEqualTo(1);
			// stopped at an epoch boundary, not failed: metrics and model kept
			Map<String, Object> job = get("/api/v1/jobs/" + t.get("jobId"));
			assertThat(job.get("status")).isEqualTo("STOPPED_EARLY");
			assertThat(job.get("modelId")).isEqualTo(t.get("modelId")).isNotNull();
			assertThat(job.get("error")).isNull();
			assertThat(list(get("/api/v1/jobs/" + t.get("jobId") + "/metrics").get("epochs"))).hasSize(1);
		}
		assertThat(map(done.get("bestTrial")).get("trial")).isEqualTo(0);
		Map<String, Object> progress = map(done.get("progress"));
		assertThat(progress.get("stoppedEarly")).isEqualTo(2);
		assertThat(progress.get("epochsSpent")).isEqualTo(5);
		assertThat(progress.get("epochsSavedByEarlyTermination")).isEqualTo(4);
		assertThat(progress.get("epochsFullRun")).isEqualTo(9);
		// the decisions are events of the sweep, and the stream ends with done
		List<String> events = eventTypes(id);
		assertThat(events).startsWith("status").endsWith("done");
		assertThat(events.stream().filter("decision"::equals)).hasSize(4);
		assertThat(events.stream().filter("trial"::equals)).hasSize(3);

		String report = this.client.get()
			.uri("/api/v1/sweeps/" + id + "/report")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_HTML)
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(report).contains("Leaderboard", "STOPPED_EARLY", "trial 1 (stopped)", "Validation loss by trial",
				"valLoss by hyperparameters.learningRate", "Confusion matrix (trial 0)");
		this.client.get()
			.uri("/api/v1/sweeps/" + java.util.UUID.randomUUID() + "/report")
			.exchange()
			.expectStatus()
			.isNotFound();
	}

	@Test
	void validateListsTheTrialsAndWhatTheyWouldCost() {
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("choice", List.of(0.01, 0.001)),
						"hyperparameters.augmentation", Map.of("choice", List.of("none", "flip"))),
				"grid", 4, Map.of("type", "asha", "minEpochs", 1, "reductionFactor", 2));
		Map<String, Object> validation = validate(body);
		assertThat(validation.get("trials")).isEqualTo(4);
		List<Map<String, Object>> trials = list(validation.get("trialParams"));
		assertThat(trials).hasSize(4).doesNotHaveDuplicates();
		assertThat(validation.get("rungs")).isEqualTo(List.of(1, 2));
		assertThat(validation.get("epochsFullRun")).isEqualTo(16);
		// 1 epoch each, half go on for 1 more, a quarter for the last 2: 4 × 2
		assertThat(validation.get("epochsWithEarlyTermination")).isEqualTo(8);
		assertThat(((Number) validation.get("estimatedEpochSeconds")).doubleValue()).isPositive();
		assertThat(map(validation.get("spec")).get("maxTrials")).isEqualTo(4);

		// random: the first samples, the same for the same seed, others for another
		Map<String, Object> random = sweep(
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-4, 1e-1))), "random", 2, null);
		random.put("maxTrials", 20);
		List<Map<String, Object>> first = list(validate(random).get("trialParams"));
		assertThat(first).hasSize(SweepService.PREVIEW_TRIALS).isEqualTo(list(validate(random).get("trialParams")));
		random.put("seed", 12);
		assertThat(list(validate(random).get("trialParams"))).isNotEqualTo(first);
		// omitted search space: the documented default, written out
		Map<String, Object> defaults = new HashMap<>(random);
		defaults.remove("searchSpace");
		assertThat(map(map(validate(defaults).get("spec")).get("searchSpace"))).containsKeys(
				"hyperparameters.learningRate", "hyperparameters.weightDecay", "hyperparameters.augmentation");
	}

	@Test
	void cancellingASweepCancelsItsRunningAndQueuedTrials() {
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-4, 1e-3))), "random", 40, null);
		body.put("base", Map.of("freeze", Map.of("upTo", "none"), "hyperparameters",
				Map.of("batchSize", 4, "imageSize", 32, "seed", 7), "device", "cpu"));
		body.put("maxTrials", 4);
		body.put("parallelTrials", 2);
		String id = (String) post(body).get("id");
		await().atMost(SWEEP_TIMEOUT).pollInterval(Duration.ofMillis(300)).until(() -> {
			Map<String, Object> progress = map(get("/api/v1/sweeps/" + id).get("progress"));
			return ((Number) progress.get("running")).intValue() == 1
					&& ((Number) progress.get("queued")).intValue() == 1;
		});
		Map<String, Object> cancelled = this.client.post()
			.uri("/api/v1/sweeps/" + id + ":cancel")
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		assertThat(cancelled.get("status")).isEqualTo("CANCELLED");
		await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
			Map<String, Object> jobs = get("/api/v1/jobs?sweepId=" + id);
			return list(jobs.get("items")).stream().allMatch((j) -> "CANCELLED".equals(j.get("status")));
		});
		// no trial is submitted after the cancel
		await().during(Duration.ofSeconds(5))
			.atMost(Duration.ofSeconds(10))
			.until(() -> ((Number) get("/api/v1/jobs?sweepId=" + id).get("totalItems")).intValue() == 2);
		this.client.post()
			.uri("/api/v1/sweeps/" + id + ":cancel")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT);
	}

	@Test
	void refitTrainsTheBestConfigurationOnTrainAndValidationAndBecomesTheSweepsModel() {
		Map<String, Object> body = sweep(Map.of("hyperparameters.learningRate", Map.of("choice", List.of(0.01))),
				"grid", 2, null);
		body.put("refit", true);
		String id = (String) post(body).get("id");
		Map<String, Object> done = awaitStatus(id, "SUCCEEDED");
		Map<String, Object> best = map(done.get("bestTrial"));
		String refitJobId = (String) done.get("refitJobId");
		assertThat(refitJobId).isNotNull().isNotEqualTo(best.get("jobId"));
		// the leaderboard holds the trials only
		assertThat(list(done.get("leaderboard"))).hasSize(1);

		Map<String, Object> refit = get("/api/v1/jobs/" + refitJobId);
		assertThat(refit.get("status")).isEqualTo("SUCCEEDED");
		assertThat(refit.get("sweepId")).isEqualTo(id);
		Map<String, Object> spec = map(refit.get("spec"));
		assertThat(spec.get("trainOn")).isEqualTo("train+validation");
		assertThat(map(map(done.get("spec")).get("base"))).doesNotContainKey("trainOn");
		Map<String, Object> bestJob = get("/api/v1/jobs/" + best.get("jobId"));
		assertThat(map(bestJob.get("spec")).get("trainOn")).isEqualTo("train");
		// the best trial's parameters for its best epoch count, no early stopping
		Map<String, Object> hp = map(spec.get("hyperparameters"));
		assertThat(((Number) hp.get("learningRate")).doubleValue()).isEqualTo(0.01);
		List<Map<String, Object>> bestEpochs = list(
				get("/api/v1/jobs/" + best.get("jobId") + "/metrics").get("epochs"));
		int bestEpoch = bestEpochs.stream()
			.max(java.util.Comparator
				.comparingDouble((Map<String, Object> e) -> ((Number) e.get("valAccuracy")).doubleValue())
				.thenComparing((e) -> -((Number) e.get("epoch")).intValue()))
			.map((e) -> (Integer) e.get("epoch"))
			.orElseThrow();
		assertThat(hp.get("epochs")).isEqualTo(bestEpoch);
		assertThat(map(hp.get("earlyStopping")).get("patience")).isEqualTo(0);
		// nothing held out: every epoch trained, validation metrics null (not NaN)
		List<Map<String, Object>> epochs = list(get("/api/v1/jobs/" + refitJobId + "/metrics").get("epochs"));
		assertThat(epochs).hasSize(bestEpoch).allSatisfy((e) -> {
			assertThat(e).containsEntry("valAccuracy", null).containsEntry("valLoss", null);
			assertThat(e.get("trainLoss")).isNotNull();
		});
		// the refit's model is the sweep's; the best trial's stays bestModelId
		assertThat(done.get("modelId")).isEqualTo(refit.get("modelId"))
			.isNotNull()
			.isNotEqualTo(done.get("bestModelId"));
		assertThat(done.get("bestModelId")).isEqualTo(best.get("modelId"));
		Map<String, Object> model = get("/api/v1/models/" + done.get("modelId"));
		assertThat(model.get("jobId")).isEqualTo(refitJobId);
		assertThat(map(model.get("metrics")).get("valAccuracy")).isNull();

		// jobs:validate shows the folded split: 16 images train, none validate
		Map<String, Object> job = new HashMap<>(Map.of("datasetId", this.datasetId, "baseModel", "resnet50-scratch",
				"trainOn", "train+validation", "hyperparameters", Map.of("imageSize", 32, "epochs", 1)));
		Map<String, Object> split = map(this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(job)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody()
			.get("split"));
		assertThat(split).containsEntry("train", 16).containsEntry("validation", 0);
		job.put("trainOn", "validation");
		job.put("hyperparameters", Map.of("earlyStopping", Map.of("patience", 2)));
		this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(job)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("trainOn");
		job.put("trainOn", "train+validation");
		this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(job)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("hyperparameters.earlyStopping.patience");
		// a sweep's trials cannot train on validation: it is what scores them
		Map<String, Object> bad = sweep(Map.of("hyperparameters.learningRate", Map.of("choice", List.of(0.01))), "grid",
				1, null);
		bad.put("base", Map.of("trainOn", "train+validation"));
		this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(bad)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.errors[0].field")
			.isEqualTo("base.trainOn");
	}

	@Test
	void aSpentBudgetStopsTheSweepCleanly() {
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-3, 1e-2))), "random", 3, null);
		body.put("maxTrials", 3);
		body.put("parallelTrials", 1);
		body.put("budgetMinutes", 1);
		body.put("refit", true);
		String id = (String) post(body).get("id");
		try {
			await().atMost(SWEEP_TIMEOUT)
				.pollInterval(Duration.ofMillis(200))
				.until(() -> ((Number) get("/api/v1/jobs?sweepId=" + id).get("totalItems")).intValue() == 1);
			// the budget's minute passes at once: the running trial stops after its epoch
			this.engine.clock(java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofMinutes(2)));
			Map<String, Object> done = awaitStatus(id, "SUCCEEDED");
			assertThat(done.get("stopReason")).isEqualTo("budget");
			List<Map<String, Object>> board = list(done.get("leaderboard"));
			assertThat(board).singleElement().satisfies((t) -> {
				assertThat(t.get("state")).isEqualTo("STOPPED_EARLY");
				assertThat(t.get("epochs")).isEqualTo(1);
				assertThat(t.get("modelId")).isNotNull();
			});
			// no refit and no further trial after the budget; the best trial's model
			// stays
			assertThat(done.get("refitJobId")).isNull();
			assertThat(done.get("modelId")).isEqualTo(done.get("bestModelId")).isEqualTo(board.get(0).get("modelId"));
			assertThat(get("/api/v1/jobs?sweepId=" + id).get("totalItems")).isEqualTo(1);
			assertThat(this.store.decisions(java.util.UUID.fromString(id))).singleElement()
				.satisfies((d) -> assertThat(d.reason()).isEqualTo("budget"));
			assertThat(this.store.events(java.util.UUID.fromString(id), 0, 100)).extracting(SweepStore.Event::type)
				.containsOnlyOnce("budget", "done");
		}
		finally {
			this.engine.clock(java.time.Clock.systemUTC());
		}
	}

	@Test
	void aTpeSweepRunsToTheEndAndLeavesRandomSamplingAfterItsStartupTrials() {
		Map<String, Object> body = sweep(
				Map.of("hyperparameters.learningRate", Map.of("logUniform", List.of(1e-4, 1e-1)),
						"hyperparameters.weightDecay", Map.of("logUniform", List.of(1e-6, 1e-2))),
				"tpe", 1, null);
		body.put("maxTrials", Tpe.STARTUP + 1);
		body.put("parallelTrials", 1);
		String id = (String) post(body).get("id");
		Map<String, Object> done = awaitStatus(id, "SUCCEEDED");
		List<Map<String, Object>> board = list(done.get("leaderboard"));
		assertThat(board).hasSize(Tpe.STARTUP + 1).allSatisfy((t) -> assertThat(t.get("state")).isEqualTo("SUCCEEDED"));
		SweepSpec spec = this.json.convertValue(done.get("spec"), SweepSpec.class);
		SearchSpace space = SearchSpace.of(spec.searchSpace());
		for (Map<String, Object> t : board) {
			int index = (Integer) t.get("trial");
			Map<String, tools.jackson.databind.JsonNode> random = space
				.randomPoint(SweepEngine.random(spec.seed(), index));
			double rate = ((Number) map(t.get("params")).get("hyperparameters.learningRate")).doubleValue();
			double randomRate = random.get("hyperparameters.learningRate").asDouble();
			if (index < Tpe.STARTUP) {
				// the startup trials are the random sweep's samples
				assertThat(rate).as("trial %d", index).isEqualTo(randomRate);
			}
			else {
				// after them, the estimator proposes: not the random sample of that seed
				assertThat(rate).as("trial %d", index).isNotEqualTo(randomRate);
			}
		}
		assertThat(done.get("bestModelId")).isNotNull();
	}

	private Map<String, Object> validate(Map<String, Object> body) {
		return this.client.post()
			.uri("/api/v1/sweeps:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	private List<String> eventTypes(String id) throws Exception {
		java.net.http.HttpRequest request = java.net.http.HttpRequest
			.newBuilder(java.net.URI.create("http://localhost:" + this.port + "/api/v1/sweeps/" + id + "/events"))
			.timeout(Duration.ofSeconds(30))
			.header("Accept", "text/event-stream")
			.build();
		String stream = java.net.http.HttpClient.newHttpClient()
			.send(request, java.net.http.HttpResponse.BodyHandlers.ofString())
			.body();
		return stream.lines().filter((l) -> l.startsWith("event:")).map((l) -> l.substring(6).trim()).toList();
	}

	private Map<String, Object> sweep(Map<String, Object> space, String strategy, int maxEpochs,
			Map<String, Object> early) {
		Map<String, Object> body = new HashMap<>();
		body.put("datasetId", this.datasetId);
		body.put("baseModel", "resnet50-scratch");
		body.put("strategy", strategy);
		body.put("maxEpochs", maxEpochs);
		body.put("seed", 11);
		body.put("base", Map.of("freeze", Map.of("upTo", "layer4", "batchNorm", "frozen"), "hyperparameters",
				Map.of("batchSize", 4, "imageSize", 32, "seed", 7), "device", "cpu"));
		body.put("searchSpace", space);
		if (early != null) {
			body.put("earlyTermination", early);
		}
		return body;
	}

	private Map<String, Object> post(Map<String, Object> body) {
		return this.client.post()
			.uri("/api/v1/sweeps")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	private Map<String, Object> awaitStatus(String id, String status) {
		await().atMost(SWEEP_TIMEOUT).pollInterval(Duration.ofMillis(500)).until(() -> {
			Map<String, Object> sweep = get("/api/v1/sweeps/" + id);
			Object current = sweep.get("status");
			if (!status.equals(current) && !"RUNNING".equals(current)) {
				throw new AssertionError("Sweep " + id + " ended " + current + ": " + sweep);
			}
			return status.equals(current);
		});
		return get("/api/v1/sweeps/" + id);
	}

	private Map<String, Object> get(String path) {
		return TestApi.get(this.client, path);
	}

}
