package com.acme.finetune.inference;

import java.io.IOException;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.PredictionClient.Reply;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.training.artifact.ServingPrecision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * bf16 on (as in production): the service checks bf16 once in a child process, a job with
 * the default precision trains in bf16 where the CPU allows, the model checks bf16
 * serving against fp32 on its validation images, and predictions and
 * {@code /actuator/info} say what it serves in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestPropertySource(properties = "app.djl.bf16=true")
class Bf16ServingApiTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ObjectMapper json;

	@LocalServerPort
	int port;

	Path work;

	@AfterAll
	void cleanUp() throws IOException {
		if (this.work != null) {
			com.acme.finetune.storage.ArtifactStore.deleteRecursively(this.work);
		}
	}

	@Test
	void aJobWithTheDefaultPrecisionTrainsInBf16WhereTheCpuHasIt() {
		String datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(8, 40), "0.25");
		Map<String, Object> spec = Map.of("datasetId", datasetId, "baseModel", "resnet50-scratch", "freeze",
				Map.of("upTo", "none"), "hyperparameters",
				Map.of("epochs", 1, "batchSize", 4, "imageSize", 32, "learningRate", 0.001, "seed", 7), "device",
				"cpu");
		String expected = ServingPrecision.CPU_NATIVE_BF16 ? ServingPrecision.BF16 : ServingPrecision.FP32;
		Map<String, Object> validation = TestApi.post(this.client, "/api/v1/jobs:validate", spec, 200);
		assertThat(TestApi.map(validation.get("precision"))).containsEntry("training", expected);

		String jobId = (String) TestApi.post(this.client, "/api/v1/jobs", spec, 202).get("id");
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(300)).until(() -> {
			Object status = TestApi.get(this.client, "/api/v1/jobs/" + jobId).get("status");
			assertThat(status).isNotIn("FAILED", "CANCELLED");
			return "SUCCEEDED".equals(status);
		});
		Map<String, Object> metrics = TestApi.get(this.client, "/api/v1/jobs/" + jobId + "/metrics");
		assertThat(TestApi.map(metrics.get("final"))).containsEntry("trainingPrecision", expected);
		assertThat(TestApi.list(metrics.get("epochs"))).singleElement()
			.satisfies((e) -> assertThat((Double) e.get("trainLoss")).isFinite());
	}

	@Test
	void predictionsAndInfoSayWhatTheModelServesIn() throws IOException {
		this.work = Files.createTempDirectory("bf16-api-tests-");
		UUID model = InferenceFixtures.register(this.catalog, InferenceFixtures.colourModel(), this.work,
				InferenceFixtures.COLOURS, "colours-bf16");
		String expected = ServingPrecision.CPU_NATIVE_BF16 ? ServingPrecision.BF16 : ServingPrecision.FP32;

		for (int c = 0; c < 3; c++) {
			byte[] image = InferenceFixtures.png(InferenceFixtures.colour(c, 36, 36, new Random(40 + c)));
			Reply reply = new PredictionClient(this.port, this.json).predict(model, "image.png", image);
			assertThat(reply.status()).isEqualTo(200);
			assertThat(reply.body().get("precision")).isEqualTo(expected);
		}

		String info = this.client.get()
			.uri("/actuator/info")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		Map<String, Object> body = this.json.readValue(info, new TypeReference<Map<String, Object>>() {
		});
		@SuppressWarnings("unchecked")
		Map<String, Object> bf16 = (Map<String, Object>) body.get("bf16");
		assertThat(bf16).containsEntry("enabled", true)
			.containsEntry("cpuNativeBf16", ServingPrecision.CPU_NATIVE_BF16);
		if (ServingPrecision.CPU_NATIVE_BF16) {
			assertThat(bf16).containsEntry("bf16Check", "passed");
		}
		if (ServingPrecision.CPU_NATIVE_BF16) {
			assertThat(bf16).containsEntry("bf16TrainingCheck", "passed");
		}
		@SuppressWarnings("unchecked")
		List<Map<String, Object>> loaded = (List<Map<String, Object>>) ((Map<String, Object>) body.get("serving"))
			.get("loadedModels");
		assertThat(loaded).anySatisfy((m) -> {
			assertThat(m).containsEntry("id", model.toString()).containsEntry("precision", expected);
			assertThat((String) m.get("reason")).isNotBlank();
		});
	}

}
