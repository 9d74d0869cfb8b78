package com.acme.finetune.evaluation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.InferenceFixtures;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Evaluations end to end: a real ResNet-50 (32 px, trained in-process), a dataset
 * uploaded over HTTP, the worker running the evaluation through the job queue, real
 * PostgreSQL. The evaluation's numbers are checked against what the online prediction
 * endpoint says about the same images.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvaluationApiTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	Path work;

	UUID model;

	/** Archive path → bytes of the evaluation set. */
	final Map<String, byte[]> images = new LinkedHashMap<>();

	String datasetId;

	@BeforeAll
	void setUp() throws IOException {
		this.work = Files.createTempDirectory("evaluation-tests-");
		this.model = InferenceFixtures.register(this.catalog, InferenceFixtures.colourModel(), this.work,
				InferenceFixtures.COLOURS, "colours-eval");
		Random random = new Random(7);
		for (int c = 0; c < InferenceFixtures.COLOURS.size(); c++) {
			for (int i = 0; i < 4; i++) {
				this.images.put(InferenceFixtures.COLOURS.get(c) + "/" + i + ".png",
						InferenceFixtures.png(InferenceFixtures.colour(c, 36, 32, random)));
			}
		}
		// one image whose colour contradicts its folder: a sure mistake
		this.images.put("red/odd.png", InferenceFixtures.png(InferenceFixtures.colour(2, 32, 32, random)));
		this.datasetId = TestApi.uploadDataset(this.client, TestImages.zip(this.images), "0.25");
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void evaluationAgreesWithOnlinePredictionsAndHasEveryNumber() {
		Map<String, Object> created = this.client.post()
			.uri("/api/v1/models/" + this.model + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId))
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectHeader()
			.valueMatches("Location", "/api/v1/evaluations/[0-9a-f-]{36}")
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(created.get("split")).isEqualTo("all");
		Map<String, Object> done = await((String) created.get("id"));
		assertThat(done.get("status")).as("%s", done).isEqualTo("SUCCEEDED");
		Map<String, Object> result = map(done.get("result"));
		// the precision the model serves in (tests run with app.djl.bf16=false)
		assertThat(result.get("precision")).isEqualTo("fp32");

		// what the serving endpoint says about each image
		List<String> labels = InferenceFixtures.COLOURS;
		long[][] expected = new long[3][3];
		int correct = 0;
		Map<String, Double> wrongConfidence = new LinkedHashMap<>();
		for (Map.Entry<String, byte[]> image : this.images.entrySet()) {
			String truth = image.getKey().substring(0, image.getKey().indexOf('/'));
			Map<String, Double> online = predict(image.getValue());
			String top = online.keySet().iterator().next();
			expected[labels.indexOf(truth)][labels.indexOf(top)]++;
			if (top.equals(truth)) {
				correct++;
			}
			else {
				wrongConfidence.put(image.getKey(), online.get(top));
			}
		}
		assertThat(result.get("images")).isEqualTo(this.images.size());
		assertThat(((Number) result.get("accuracy")).doubleValue()).isCloseTo((double) correct / this.images.size(),
				within(1e-9));
		assertThat(result.get("topK")).isEqualTo(3);
		// three labels: the true one is always among the top 3
		assertThat(((Number) result.get("topKAccuracy")).doubleValue()).isEqualTo(1.0);
		Map<String, Object> confusion = map(result.get("confusionMatrix"));
		assertThat(confusion.get("labels")).isEqualTo(labels);
		List<List<Number>> matrix = list(confusion.get("matrix"));
		for (int r = 0; r < 3; r++) {
			for (int c = 0; c < 3; c++) {
				assertThat(matrix.get(r).get(c).longValue()).as("row %d col %d", r, c).isEqualTo(expected[r][c]);
			}
		}
		Map<String, Object> perClass = map(result.get("perClass"));
		assertThat(perClass).containsOnlyKeys(labels);
		assertThat(map(perClass.get("red")).get("support")).isEqualTo(5);
		// mistakes: exactly the images the endpoint gets wrong, most confident first,
		// with
		// the serving probability
		List<Map<String, Object>> mistakes = list(result.get("mistakes"));
		assertThat(mistakes).extracting((m) -> m.get("file"))
			.containsExactlyInAnyOrderElementsOf(wrongConfidence.keySet());
		for (Map<String, Object> m : mistakes) {
			assertThat(((Number) m.get("probability")).doubleValue())
				.isCloseTo(wrongConfidence.get((String) m.get("file")), within(1e-4));
			assertThat(m).containsKeys("true", "predicted");
		}
		assertThat(mistakes).extracting((m) -> ((Number) m.get("probability")).doubleValue())
			.isSortedAccordingTo((a, b) -> Double.compare(b, a));
		// calibration: bins cover every image, ECE is the weighted gap
		Map<String, Object> calibration = map(result.get("calibration"));
		List<Map<String, Object>> bins = list(calibration.get("bins"));
		assertThat(bins).hasSize(10);
		assertThat(bins.stream().mapToInt((b) -> ((Number) b.get("count")).intValue()).sum())
			.isEqualTo(this.images.size());
		double ece = 0;
		for (Map<String, Object> b : bins) {
			int count = ((Number) b.get("count")).intValue();
			if (count > 0) {
				ece += (double) count / this.images.size() * Math
					.abs(((Number) b.get("accuracy")).doubleValue() - ((Number) b.get("confidence")).doubleValue());
			}
		}
		assertThat(((Number) calibration.get("expectedCalibrationError")).doubleValue()).isCloseTo(ece, within(1e-9));

		// the report: metrics, matrix, reliability diagram, thumbnails as data URIs
		String html = this.client.get()
			.uri("/api/v1/evaluations/" + done.get("id") + "/report")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_HTML)
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(html).contains("Confusion matrix", "Reliability", "<svg");
		assertThat(html.split("src=\"data:image/jpeg;base64,", -1)).hasSize(mistakes.size() + 1);

		// compare runs: the model's evaluations, summaries without the full result
		Map<String, Object> page = this.client.get()
			.uri("/api/v1/models/" + this.model + "/evaluations")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		List<Map<String, Object>> items = list(page.get("items"));
		Map<String, Object> listed = items.stream()
			.filter((i) -> i.get("id").equals(done.get("id")))
			.findFirst()
			.orElseThrow();
		assertThat(listed.get("result")).isNull();
		assertThat(map(listed.get("summary")).get("accuracy")).isEqualTo(result.get("accuracy"));
	}

	@Test
	void theValidationSplitScoresOnlyItsImages() {
		Map<String, Object> done = await(
				submit(this.model, Map.of("datasetId", this.datasetId, "split", "validation")));
		assertThat(done.get("status")).isEqualTo("SUCCEEDED");
		int images = (Integer) map(done.get("result")).get("images");
		assertThat(images).isPositive().isLessThan(this.images.size());
	}

	@Test
	void labelsTheModelDoesNotKnowAreNamed() {
		Map<String, byte[]> other = new LinkedHashMap<>();
		Random random = new Random(3);
		for (String label : List.of("red", "purple", "teal")) {
			for (int i = 0; i < 2; i++) {
				other.put(label + "/" + i + ".png", InferenceFixtures.png(InferenceFixtures.colour(0, 32, 32, random)));
			}
		}
		String dataset = TestApi.uploadDataset(this.client, TestImages.zip(other), "0");
		Map<String, Object> problem = this.client.post()
			.uri("/api/v1/models/" + this.model + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset))
			.exchange()
			.expectStatus()
			.isEqualTo(422)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(problem.get("unknownLabels")).isEqualTo(List.of("purple", "teal"));
		assertThat((String) problem.get("detail")).contains("purple", "teal");
	}

	@Test
	void badRequestsAreProblems() {
		Map<String, Object> problem = this.client.post()
			.uri("/api/v1/models/" + this.model + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", "nope", "split", "test", "extra", 1))
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		List<Map<String, Object>> errors = list(problem.get("errors"));
		assertThat(errors).extracting((e) -> (Object) e.get("field"))
			.containsExactlyInAnyOrder("datasetId", "split", "extra");
		this.client.post()
			.uri("/api/v1/models/" + UUID.randomUUID() + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId))
			.exchange()
			.expectStatus()
			.isNotFound();
		this.client.post()
			.uri("/api/v1/models/" + this.model + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", UUID.randomUUID().toString()))
			.exchange()
			.expectStatus()
			.isBadRequest();
		this.client.get().uri("/api/v1/evaluations/" + UUID.randomUUID()).exchange().expectStatus().isNotFound();
		this.client.get()
			.uri("/api/v1/evaluations/" + UUID.randomUUID() + "/report")
			.exchange()
			.expectStatus()
			.isNotFound();
	}

	@Test
	void anAliasIsResolvedToTheVersionItNamesWhenTheEvaluationRuns() throws IOException {
		UUID second = InferenceFixtures.register(this.catalog, InferenceFixtures.colourModel(), this.work,
				InferenceFixtures.COLOURS, "colours-eval-2");
		String name = "eval-" + UUID.randomUUID().toString().substring(0, 8);
		register(name, this.model, List.of("champion"));
		register(name, second, List.of());
		Map<String, Object> first = await(submitAlias(name, "champion"));
		assertThat(first.get("status")).isEqualTo("SUCCEEDED");
		assertThat(first.get("modelId")).isEqualTo(this.model.toString());
		assertThat(map(first.get("registeredModel"))).containsEntry("version", 1).containsEntry("alias", "champion");
		this.client.put()
			.uri("/api/v1/registered-models/" + name + "/aliases/champion")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 2))
			.exchange()
			.expectStatus()
			.isOk();
		Map<String, Object> moved = await(submitAlias(name, "champion"));
		assertThat(moved.get("modelId")).isEqualTo(second.toString());
		assertThat(map(moved.get("registeredModel"))).containsEntry("version", 2);
		this.client.post()
			.uri("/api/v1/registered-models/" + name + "/aliases/nobody/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId))
			.exchange()
			.expectStatus()
			.isNotFound();
	}

	private void register(String name, UUID modelId, List<String> aliases) {
		this.client.post()
			.uri("/api/v1/registered-models/" + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("modelId", modelId.toString(), "aliases", aliases))
			.exchange()
			.expectStatus()
			.isCreated();
	}

	private String submitAlias(String name, String alias) {
		return (String) this.client.post()
			.uri("/api/v1/registered-models/" + name + "/aliases/" + alias + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", this.datasetId))
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody()
			.get("id");
	}

	private String submit(UUID model, Map<String, Object> body) {
		return (String) this.client.post()
			.uri("/api/v1/models/" + model + "/evaluations")
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody()
			.get("id");
	}

	private Map<String, Object> await(String id) {
		long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
		while (true) {
			Map<String, Object> evaluation = this.client.get()
				.uri("/api/v1/evaluations/" + id)
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody(TestApi.JSON_OBJECT)
				.returnResult()
				.getResponseBody();
			String status = (String) evaluation.get("status");
			if (!"QUEUED".equals(status) && !"RUNNING".equals(status)) {
				return evaluation;
			}
			assertThat(System.nanoTime()).as("evaluation %s still %s", id, status).isLessThan(deadline);
			try {
				Thread.sleep(200);
			}
			catch (InterruptedException ex) {
				throw new IllegalStateException(ex);
			}
		}
	}

	/** Label → probability from the online endpoint, most probable first. */
	private Map<String, Double> predict(byte[] png) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("image", TestApi.file(png, "x.png"));
		Map<String, Object> reply = this.client.post()
			.uri("/api/v1/models/" + this.model + "/predictions")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		Map<String, Double> result = new LinkedHashMap<>();
		List<Map<String, Object>> predictions = list(reply.get("predictions"));
		List<Map<String, Object>> top = list(predictions.get(0).get("top"));
		for (Map<String, Object> l : top) {
			result.put((String) l.get("label"), ((Number) l.get("probability")).doubleValue());
		}
		return result;
	}

	@SuppressWarnings("unchecked")
	static Map<String, Object> map(Object value) {
		return (Map<String, Object>) value;
	}

	@SuppressWarnings("unchecked")
	static <T> List<T> list(Object value) {
		return (List<T>) value;
	}

}
