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
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

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
	void ashaStopsTrialsThatFallBehindAtTheirRungAndKeepsTheirModels() {
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
		return this.client.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> map(Object value) {
		return (Map<String, Object>) value;
	}

	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> list(Object value) {
		return (List<Map<String, Object>>) value;
	}

}
