package com.acme.finetune.docs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.client.ApiClient;
import com.acme.finetune.client.ApiException;
import com.acme.finetune.client.api.DatasetControllerApi;
import com.acme.finetune.client.api.JobControllerApi;
import com.acme.finetune.client.api.ModelControllerApi;
import com.acme.finetune.client.api.PredictionControllerApi;
import com.acme.finetune.client.model.DatasetSummary;
import com.acme.finetune.client.model.JobMetricsView;
import com.acme.finetune.client.model.JobSpec;
import com.acme.finetune.client.model.JobSpecFreeze;
import com.acme.finetune.client.model.JobSpecHyperparameters;
import com.acme.finetune.client.model.JobView;
import com.acme.finetune.client.model.PredictionResponse;
import com.acme.finetune.support.TestImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.test.web.server.LocalServerPort;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What a client service does: a Java client generated at build time from the checked-in
 * {@code docs/openapi.json} (openapi-generator, {@code native} library, into
 * {@code target/generated-test-sources}) runs the main flow against the running service:
 * upload, validate, submit, wait, metrics, predict, delete. A document a generator cannot
 * use, or one that types a body or response wrongly, fails here.
 */
class GeneratedClientTests extends AbstractIntegrationTests {

	@LocalServerPort
	int port;

	@TempDir
	Path temp;

	@Test
	void theMainFlowRunsThroughTheGeneratedClient() throws Exception {
		ApiClient api = new ApiClient();
		api.updateBaseUri("http://localhost:" + this.port);
		DatasetControllerApi datasets = new DatasetControllerApi(api);
		JobControllerApi jobs = new JobControllerApi(api);
		ModelControllerApi models = new ModelControllerApi(api);
		PredictionControllerApi predictions = new PredictionControllerApi(api);

		Path archive = this.temp.resolve("dataset.zip");
		Files.write(archive, TestImages.redBlueDataset(6, 32));
		DatasetSummary dataset = datasets.uploadDataset(archive.toFile(), "generated-client", 0.25, null);
		assertThat(dataset.getId()).isNotNull();

		JobSpec spec = new JobSpec().datasetId(dataset.getId())
			.baseModel("resnet50-scratch")
			.device("cpu")
			.freeze(new JobSpecFreeze().upTo(JobSpecFreeze.UpToEnum.fromValue("none"))
				.batchNorm(JobSpecFreeze.BatchNormEnum.fromValue("frozen")))
			.hyperparameters(
					new JobSpecHyperparameters().epochs(1).batchSize(4).imageSize(32).learningRate(0.001).seed(7L));
		assertThat(jobs.validateJob(spec)).isNotNull();

		JobView submitted = jobs.submitJob(spec, "generated-client-" + UUID.randomUUID());
		assertThat(submitted.getStatus()).isEqualTo(JobView.StatusEnum.QUEUED);
		UUID jobId = submitted.getId();
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> {
			JobView.StatusEnum status = jobs.getJob(jobId, null).getStatus();
			assertThat(status).isNotIn(JobView.StatusEnum.FAILED, JobView.StatusEnum.CANCELLED);
			return status == JobView.StatusEnum.SUCCEEDED;
		});
		JobView done = jobs.getJob(jobId, null);
		assertThat(done.getModelId()).isNotNull();

		JobMetricsView metrics = jobs.getJobMetrics(jobId, null);
		assertThat(metrics.getEpochs()).hasSize(1);
		assertThat(metrics.getEpochs().get(0).getTrainLoss()).isFinite();

		Path image = this.temp.resolve("red.png");
		Files.write(image, TestImages.png(java.awt.Color.RED, 32, 1));
		PredictionResponse prediction = predictions.predict(done.getModelId(), 2, List.of(image.toFile()));
		assertThat(prediction.getModelId()).isEqualTo(done.getModelId());
		assertThat(prediction.getPredictions()).hasSize(1);
		assertThat(prediction.getPredictions().get(0).getTop()).extracting((label) -> label.getLabel())
			.containsExactlyInAnyOrder("red", "blue");

		// the API has no job deletion: a job's record stays; its model and dataset go
		models.deleteModel(done.getModelId(), null);
		assertThatThrownBy(() -> models.getModel(done.getModelId(), null)).isInstanceOf(ApiException.class)
			.satisfies((ex) -> assertThat(((ApiException) ex).getCode()).isEqualTo(404));
		datasets.deleteDataset(dataset.getId(), null);
		assertThatThrownBy(() -> datasets.getDataset(dataset.getId(), null)).isInstanceOf(ApiException.class)
			.satisfies((ex) -> assertThat(((ApiException) ex).getCode()).isEqualTo(404));
	}

}
