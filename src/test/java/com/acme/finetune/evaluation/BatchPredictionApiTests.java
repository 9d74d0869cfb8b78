package com.acme.finetune.evaluation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
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
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static com.acme.finetune.evaluation.EvaluationApiTests.list;
import static com.acme.finetune.evaluation.EvaluationApiTests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Batch predictions end to end: archives and datasets in, one result line per file out,
 * each image's probabilities equal to what the online endpoint answers, undecodable files
 * as error lines; real model, real DJL, real PostgreSQL, the worker queue.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchPredictionApiTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ObjectMapper json;

	Path work;

	UUID model;

	@BeforeAll
	void setUp() throws IOException {
		this.work = Files.createTempDirectory("batch-tests-");
		this.model = InferenceFixtures.register(this.catalog, InferenceFixtures.colourModel(), this.work,
				InferenceFixtures.COLOURS, "colours-batch");
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void anArchiveInAnyLayoutGivesOneLinePerFileAndErrorsForTheUndecodable() {
		Random random = new Random(11);
		Map<String, byte[]> images = new LinkedHashMap<>();
		images.put("top.png", InferenceFixtures.png(InferenceFixtures.colour(0, 40, 32, random)));
		images.put("a/b/c/deep.png", InferenceFixtures.png(InferenceFixtures.colour(1, 32, 32, random)));
		images.put("a/blue.png", InferenceFixtures.png(InferenceFixtures.colour(2, 33, 47, random)));
		images.put("a/copy.png", images.get("top.png"));
		byte[] good = InferenceFixtures.png(InferenceFixtures.colour(1, 32, 32, random));
		Map<String, byte[]> entries = new LinkedHashMap<>(images);
		entries.put("a/broken.png", Arrays.copyOf(good, good.length / 2));
		entries.put("notes.txt", "not an image".getBytes());
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", TestApi.file(TestImages.zip(entries), "images.zip"));
		parts.add("topK", "2");
		Map<String, Object> created = this.client.post()
			.uri("/api/v1/models/" + this.model + "/batch-predictions")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectHeader()
			.valueMatches("Location", "/api/v1/batch-predictions/[0-9a-f-]{36}")
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(map(created.get("progress")).get("totalImages")).isEqualTo(6);
		String id = (String) created.get("id");
		Map<String, Object> done = await(id);
		assertThat(done.get("status")).as("%s", done).isEqualTo("SUCCEEDED");
		assertThat(map(done.get("progress"))).containsEntry("images", 6).containsEntry("failed", 2);

		List<Map<String, Object>> lines = jsonLines(id);
		assertThat(lines).extracting((l) -> (Object) l.get("file"))
			.containsExactlyInAnyOrder("top.png", "a/b/c/deep.png", "a/blue.png", "a/copy.png", "a/broken.png",
					"notes.txt");
		for (Map<String, Object> line : lines) {
			String file = (String) line.get("file");
			if (!images.containsKey(file)) {
				assertThat(line).containsOnlyKeys("file", "error");
				continue;
			}
			List<Map<String, Object>> top = list(line.get("top"));
			assertThat(top).hasSize(2);
			Map<String, Double> online = predict(images.get(file));
			for (Map<String, Object> label : top) {
				assertThat(((Number) label.get("probability")).doubleValue()).as(file)
					.isCloseTo(online.get((String) label.get("label")), within(1e-4));
			}
			assertThat(top.get(0).get("label")).isEqualTo(online.keySet().iterator().next());
		}

		String csv = this.client.get()
			.uri("/api/v1/batch-predictions/" + id + "/results?format=csv")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith("text/csv")
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		String[] rows = csv.split("\n");
		assertThat(rows[0]).isEqualTo("file,label_1,probability_1,label_2,probability_2,error");
		assertThat(rows).hasSize(7);
		assertThat(Arrays.stream(rows).filter((r) -> r.startsWith("notes.txt,,,,,")).count()).isOne();

		// the event stream replays everything and ends with done
		String events = this.client.get()
			.uri("/api/v1/batch-predictions/" + id + "/events")
			.accept(MediaType.TEXT_EVENT_STREAM)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(events).contains("event:status", "event:done", "\"SUCCEEDED\"", "\"precision\":\"fp32\"");
	}

	@Test
	void aDatasetIsClassifiedImageByImage() {
		Random random = new Random(5);
		Map<String, byte[]> images = new LinkedHashMap<>();
		for (int c = 0; c < 3; c++) {
			for (int i = 0; i < 2; i++) {
				images.put(InferenceFixtures.COLOURS.get(c) + "/" + i + ".png",
						InferenceFixtures.png(InferenceFixtures.colour(c, 32, 32, random)));
			}
		}
		String dataset = TestApi.uploadDataset(this.client, TestImages.zip(images), "0");
		String id = (String) this.client.post()
			.uri("/api/v1/models/" + this.model + "/batch-predictions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset, "topK", 10))
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody()
			.get("id");
		assertThat(await(id).get("status")).isEqualTo("SUCCEEDED");
		List<Map<String, Object>> lines = jsonLines(id);
		assertThat(lines).extracting((l) -> (Object) l.get("file"))
			.containsExactlyInAnyOrderElementsOf(images.keySet());
		// topK is capped at the model's three labels
		assertThat(lines).allSatisfy((l) -> assertThat(list(l.get("top"))).hasSize(3));
	}

	@Test
	void refusalsAreProblemsAndStoreNothing() {
		Map<String, byte[]> evil = new LinkedHashMap<>();
		evil.put("../escape.png", InferenceFixtures.png(InferenceFixtures.colour(0, 32, 32, new Random(1))));
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", TestApi.file(TestImages.zip(evil), "evil.zip"));
		this.client.post()
			.uri("/api/v1/models/" + this.model + "/batch-predictions")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
		MultiValueMap<String, Object> notArchive = new LinkedMultiValueMap<>();
		notArchive.add("file", TestApi.file("hello".getBytes(), "x.zip"));
		this.client.post()
			.uri("/api/v1/models/" + this.model + "/batch-predictions")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(notArchive)
			.exchange()
			.expectStatus()
			.isEqualTo(415);
		Map<String, Object> problem = this.client.post()
			.uri("/api/v1/models/" + this.model + "/batch-predictions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", "x", "topK", 0, "more", true))
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		List<Map<String, Object>> errors = list(problem.get("errors"));
		assertThat(errors).extracting((e) -> (Object) e.get("field"))
			.containsExactlyInAnyOrder("datasetId", "topK", "more");
		this.client.get().uri("/api/v1/batch-predictions/" + UUID.randomUUID()).exchange().expectStatus().isNotFound();
		this.client.get()
			.uri("/api/v1/batch-predictions/" + UUID.randomUUID() + "/results?format=xml")
			.exchange()
			.expectStatus()
			.isBadRequest();
	}

	private List<Map<String, Object>> jsonLines(String id) {
		String body = this.client.get()
			.uri("/api/v1/batch-predictions/" + id + "/results")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith("application/jsonl")
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		return Arrays.stream(body.split("\n")).map((l) -> this.json.readValue(l, TestApi.JSON_MAP)).toList();
	}

	private Map<String, Object> await(String id) {
		long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
		while (true) {
			Map<String, Object> batch = this.client.get()
				.uri("/api/v1/batch-predictions/" + id)
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody(TestApi.JSON_OBJECT)
				.returnResult()
				.getResponseBody();
			String status = (String) batch.get("status");
			if (!"QUEUED".equals(status) && !"RUNNING".equals(status)) {
				return batch;
			}
			assertThat(System.nanoTime()).as("batch %s still %s", id, status).isLessThan(deadline);
			try {
				Thread.sleep(200);
			}
			catch (InterruptedException ex) {
				throw new IllegalStateException(ex);
			}
		}
	}

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

}
