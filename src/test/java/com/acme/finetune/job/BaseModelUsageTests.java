package com.acme.finetune.job;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.web.ProblemType;
import com.jayway.jsonpath.JsonPath;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

/**
 * A model that a queued or running job starts from cannot be deleted under it (409); once
 * the job has ended it can.
 */
class BaseModelUsageTests extends AbstractIntegrationTests {

	@Autowired
	ModelCatalog models;

	@Autowired
	JobRepository jobs;

	@Autowired
	RestTestClient client;

	@Test
	void modelThatAnActiveJobStartsFromIsKeptUntilTheJobEnds() throws IOException {
		Path artifact = Files.createTempDirectory("base-model-");
		Files.writeString(artifact.resolve("synset.txt"), "a\nb\n");
		UUID model = this.models
			.register(new NewModel(UUID.randomUUID(), "base", List.of("a", "b"), "resnet50-scratch",
					Map.of("upTo", "none", "batchNorm", "train"), 32, Map.of("valAccuracy", 1.0), 1, 1, artifact))
			.id();
		// written directly, so no worker picks it up; the id as a client may spell it
		JobEntity job = activeJob("model:" + model.toString().toUpperCase(Locale.ROOT));
		try {
			this.client.delete()
				.uri("/api/v1/models/" + model)
				.exchange()
				.expectStatus()
				.isEqualTo(409)
				.expectHeader()
				.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
				.expectBody()
				.jsonPath("$.type")
				.isEqualTo(ProblemType.BASE_MODEL_IN_USE.uri().toString());
			this.client.get().uri("/api/v1/models/" + model).exchange().expectStatus().isOk();

			job.status = JobStatus.CANCELLED;
			this.jobs.saveAndFlush(job);
			this.client.delete().uri("/api/v1/models/" + model).exchange().expectStatus().isNoContent();
			this.client.get().uri("/api/v1/models/" + model).exchange().expectStatus().isNotFound();
		}
		finally {
			this.jobs.deleteById(job.id);
		}
	}

	@Test
	void uploadedBackboneThatAnActiveJobStartsFromIsKeptUntilTheJobEnds() throws IOException {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", TestApi
			.file(new ClassPathResource("fixtures/tiny-backbone-partial.pt").getContentAsByteArray(), "tiny.pt"));
		String id = JsonPath.read(new String(this.client.post()
			.uri("/api/v1/backbones")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isCreated()
			.expectBody()
			.returnResult()
			.getResponseBody(), StandardCharsets.UTF_8), "$.id");
		JobEntity job = activeJob(id);
		try {
			this.client.delete()
				.uri("/api/v1/backbones/" + id)
				.exchange()
				.expectStatus()
				.isEqualTo(409)
				.expectBody()
				.jsonPath("$.type")
				.isEqualTo(ProblemType.BASE_MODEL_IN_USE.uri().toString());
			job.status = JobStatus.SUCCEEDED;
			this.jobs.saveAndFlush(job);
			this.client.delete().uri("/api/v1/backbones/" + id).exchange().expectStatus().isNoContent();
		}
		finally {
			this.jobs.deleteById(job.id);
		}
	}

	private JobEntity activeJob(String baseModel) {
		JobEntity job = new JobEntity();
		job.id = UUID.randomUUID();
		job.status = JobStatus.QUEUED;
		job.datasetId = UUID.randomUUID();
		job.baseModel = baseModel;
		job.spec = "{}";
		job.totalEpochs = 1;
		job.createdAt = Instant.now();
		job.updatedAt = job.createdAt;
		return this.jobs.saveAndFlush(job);
	}

}
