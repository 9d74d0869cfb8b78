package com.acme.finetune.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static com.acme.finetune.support.TestApi.list;
import static com.acme.finetune.support.TestApi.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A job with {@code register} in its spec becomes the next version of the name on
 * success, with its aliases moved by the job, its lineage recorded, and a portable export
 * to download.
 */
class RegistryJobTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Test
	void aSuccessfulJobRegistersItsModelWithLineage() throws IOException {
		String datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(6, 40), "0.25");
		Map<String, Object> dataset = get("/api/v1/datasets/" + datasetId);
		String name = "job-flow-" + UUID.randomUUID().toString().substring(0, 8);
		Map<String, Object> spec = Map.of("datasetId", datasetId, "baseModel", "resnet50-scratch", "freeze",
				Map.of("upTo", "layer4", "batchNorm", "frozen"), "hyperparameters",
				Map.of("epochs", 1, "batchSize", 4, "imageSize", 32, "seed", 7), "device", "cpu", "register",
				Map.of("name", name, "aliases", List.of("staging"), "description", "From a job", "tags",
						Map.of("team", "qa")));
		String jobId = (String) this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(spec)
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody()
			.get("id");
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> {
			Object status = get("/api/v1/jobs/" + jobId).get("status");
			assertThat(status).isIn("QUEUED", "RUNNING", "SUCCEEDED");
			return "SUCCEEDED".equals(status);
		});
		String modelId = (String) get("/api/v1/jobs/" + jobId).get("modelId");

		Map<String, Object> registered = get("/api/v1/registered-models/" + name);
		assertThat(registered).containsEntry("description", "From a job")
			.containsEntry("tags", Map.of("team", "qa"))
			.containsEntry("latestVersion", 1);
		Map<String, Object> version = list(registered.get("versions")).get(0);
		assertThat(version).containsEntry("version", 1)
			.containsEntry("modelId", modelId)
			.containsEntry("source", "job")
			.containsEntry("registeredBy", "job:" + jobId)
			.containsEntry("aliases", List.of("staging"));
		assertThat(map(version.get("metrics"))).containsKey("valAccuracy");
		Map<String, Object> lineage = map(version.get("lineage"));
		assertThat(lineage).containsEntry("jobId", jobId).containsEntry("baseModel", "resnet50-scratch");
		assertThat(map(lineage.get("dataset"))).containsEntry("id", datasetId)
			.containsEntry("sha256", dataset.get("sha256"));
		assertThat(list(get("/api/v1/registered-models/" + name + "/aliases/staging/history").get("items")))
			.singleElement()
			.satisfies((move) -> assertThat(move).containsEntry("from", null)
				.containsEntry("to", 1)
				.containsEntry("by", "job:" + jobId));

		Map<String, Object> model = get("/api/v1/models/" + modelId);
		assertThat(list(model.get("registered"))).containsExactly(Map.of("name", name, "version", 1));
		assertThat(map(model.get("dataset"))).containsEntry("id", datasetId)
			.containsEntry("sha256", dataset.get("sha256"));
		assertThat(model).containsEntry("baseModel", "resnet50-scratch");
		assertThat(map(map(model.get("spec")).get("register"))).containsEntry("name", name);
		assertThat(map(map(model.get("spec")).get("hyperparameters"))).containsEntry("epochs", 1);

		// the portable export over HTTP
		byte[] zip = this.client.get()
			.uri("/api/v1/models/" + modelId + "/export?format=safetensors")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentType("application/zip")
			.expectHeader()
			.valueMatches("Content-Disposition", ".*model-" + modelId + "-safetensors\\.zip.*")
			.expectBody(byte[].class)
			.returnResult()
			.getResponseBody();
		assertThat(entries(zip)).containsOnlyKeys("model.safetensors", "config.json", "README.md");
		assertThat(new String(entries(zip).get("config.json"))).contains("\"labels\": [", "\"blue\"", "\"red\"",
				"torchvision-resnet50", modelId);
		problem(this.client.get().uri("/api/v1/models/" + modelId + "/export?format=onnx").exchange(), 400,
				ProblemType.VALIDATION);
		problem(this.client.get().uri("/api/v1/models/" + UUID.randomUUID() + "/export").exchange(), 404,
				ProblemType.NOT_FOUND);
	}

	private static Map<String, byte[]> entries(byte[] zip) throws IOException {
		Map<String, byte[]> entries = new LinkedHashMap<>();
		try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
			for (ZipEntry e; (e = in.getNextEntry()) != null;) {
				entries.put(e.getName(), in.readAllBytes());
			}
		}
		return entries;
	}

	private static void problem(RestTestClient.ResponseSpec response, int status, ProblemType type) {
		response.expectStatus()
			.isEqualTo(status)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(type.uri().toString());
	}

	private Map<String, Object> get(String path) {
		return TestApi.get(this.client, path);
	}

}
