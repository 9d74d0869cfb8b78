package com.acme.finetune.backbone;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.support.HostileTorchScript;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Uploaded TorchScript backbones: checked against the operator allow-list and in the
 * sandbox, listed, usable by jobs, deletable; hostile files are refused with the API
 * unharmed, and nothing runs that was not accepted.
 */
class BackboneApiTests extends AbstractIntegrationTests {

	private static final ParameterizedTypeReference<Map<String, Object>> MAP = new ParameterizedTypeReference<>() {
	};

	@Autowired
	RestTestClient client;

	@Autowired
	BackboneCatalog catalog;

	@Autowired
	ModelCatalog models;

	@Autowired
	ArtifactStore store;

	@Autowired
	JdbcClient jdbc;

	@Test
	void listsTheBuiltInResNets() {
		Map<String, Object> body = this.client.get()
			.uri("/api/v1/backbones")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		List<Map<String, Object>> items = items(body);
		assertThat(items).extracting((b) -> b.get("id")).contains("resnet50-imagenet", "resnet50-scratch");
		Map<String, Object> scratch = items.stream()
			.filter((b) -> b.get("id").equals("resnet50-scratch"))
			.findFirst()
			.orElseThrow();
		assertThat(scratch).containsEntry("available", true)
			.containsEntry("featureDim", 2048)
			.containsEntry("trainableStages", List.of("stem", "layer1", "layer2", "layer3", "layer4"));
		Map<String, Object> imagenet = items.stream()
			.filter((b) -> b.get("id").equals("resnet50-imagenet"))
			.findFirst()
			.orElseThrow();
		// tests run offline with an empty model store
		assertThat(imagenet).containsEntry("available", false);
		assertThat((String) imagenet.get("reason")).contains("offline");
	}

	@Test
	void aTorchScriptBackboneIsCheckedStoredListedUsedAndDeleted() throws IOException {
		byte[] module = new ClassPathResource("fixtures/tiny-backbone-partial.pt").getContentAsByteArray();
		Map<String, Object> created = this.client.post()
			.uri("/api/v1/backbones")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts(module, "tiny.pt", "tiny"))
			.exchange()
			.expectStatus()
			.isCreated()
			.expectHeader()
			.exists("Location")
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		String id = (String) created.get("id");
		assertThat(created).containsEntry("architecture", "torchscript")
			.containsEntry("source", "upload")
			.containsEntry("available", true);
		assertThat((Integer) created.get("featureDim")).isPositive();
		this.client.get().uri("/api/v1/backbones/" + id).exchange().expectStatus().isOk();
		assertThat(this.catalog.resolve(id).location()).exists();

		// a job can start from it: validation resolves it and counts its parameters
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.2");
		Map<String, Object> validation = this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset, "baseModel", id, "hyperparameters", Map.of("imageSize", 32)))
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		assertThat(((Number) ((Map<?, ?>) validation.get("parameters")).get("total")).longValue()).isPositive();

		Path file = this.catalog.resolve(id).location();
		this.client.delete().uri("/api/v1/backbones/" + id).exchange().expectStatus().isNoContent();
		assertThat(file).doesNotExist();
		this.client.get().uri("/api/v1/backbones/" + id).exchange().expectStatus().isNotFound();
	}

	@Test
	void filesThatAreNotTorchScriptAreRefused() {
		this.client.post()
			.uri("/api/v1/backbones")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts("definitely not a model".getBytes(), "x.pt", null))
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.UNSUPPORTED_MEDIA_TYPE)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.INVALID_MODEL_FILE.uri().toString());
		// a zip, but no TorchScript inside
		this.client.post()
			.uri("/api/v1/backbones")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts(TestImages.redBlueDataset(2, 32), "images.zip", null))
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.INVALID_MODEL_FILE.uri().toString());
		assertThat(this.catalog.list()).noneMatch((b) -> "upload".equals(b.source()) && b.id().equals("x.pt"));
	}

	@Test
	void aGraphThatReadsAndWritesFilesIsRefusedNamingTheOperators(@TempDir Path dir) throws IOException {
		Path secret = Files.writeString(dir.resolve("secret.txt"), "s3cr3t!!");
		Path stolen = dir.resolve("stolen.pt");
		long uploadsBefore = this.catalog.list().stream().filter((b) -> "upload".equals(b.source())).count();
		Map<String, Object> problem = upload(
				HostileTorchScript.readsAndWritesFiles(secret.toString(), stolen.toString()),
				HttpStatus.UNPROCESSABLE_CONTENT);
		assertThat(problem).containsEntry("type", ProblemType.INVALID_MODEL_FILE.uri().toString());
		assertThat(problem.get("refused")).isEqualTo(List.of("aten::from_file", "aten::save"));
		assertThat((String) problem.get("detail")).contains("aten::from_file", "aten::save");
		// without the allow-list, loading and a forward pass would have copied the secret
		assertThat(stolen).doesNotExist();
		assertThat(this.catalog.list().stream().filter((b) -> "upload".equals(b.source())).count())
			.isEqualTo(uploadsBefore);
	}

	@Test
	void anEndlessForwardIsRefusedAfterTheTimeLimitWhileTheApiKeepsAnswering() throws Exception {
		Instant start = Instant.now();
		CompletableFuture<Map<String, Object>> upload = CompletableFuture
			.supplyAsync(() -> upload(endlessLoop(), HttpStatus.UNPROCESSABLE_CONTENT));
		Thread.sleep(3_000);
		// the upload is in its inspection; other requests are served meanwhile
		for (int i = 0; i < 3; i++) {
			Instant asked = Instant.now();
			this.client.get().uri("/api/v1/backbones").exchange().expectStatus().isOk();
			assertThat(Duration.between(asked, Instant.now())).isLessThan(Duration.ofSeconds(5));
		}
		assertThat(upload).isNotDone();
		Map<String, Object> problem = upload.get(2, TimeUnit.MINUTES);
		assertThat(Duration.between(start, Instant.now())).isGreaterThanOrEqualTo(Duration.ofSeconds(30));
		assertThat(problem).containsEntry("type", ProblemType.INVALID_MODEL_FILE.uri().toString());
		assertThat((String) problem.get("detail")).contains("time limit of 30 s");
	}

	@Test
	void aGraphThatCrashesLibtorchIsRefusedAndTheApiStaysUp() throws IOException {
		// loaded in this JVM, the file would end it with a SIGSEGV
		Map<String, Object> problem = upload(HostileTorchScript.crashesTheCompiler(100_000),
				HttpStatus.UNPROCESSABLE_CONTENT);
		assertThat(problem).containsEntry("type", ProblemType.INVALID_MODEL_FILE.uri().toString());
		assertThat((String) problem.get("detail")).contains("inspection process died");
		this.client.get().uri("/api/v1/backbones").exchange().expectStatus().isOk();
	}

	@Test
	void anAcceptedBackboneTrainsAndItsModelServes() throws IOException {
		String backbone = (String) upload(HostileTorchScript.valid(), HttpStatus.CREATED).get("id");
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(6, 32), "0.25");
		Map<String, Object> job = this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset, "baseModel", backbone, "hyperparameters",
					Map.of("epochs", 1, "batchSize", 4, "imageSize", 32), "device", "cpu"))
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		String jobId = (String) job.get("id");
		Map<String, Object> done = await().atMost(Duration.ofMinutes(3))
			.pollInterval(Duration.ofSeconds(1))
			.until(() -> getJson("/api/v1/jobs/" + jobId),
					(j) -> List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(j.get("status")));
		assertThat(done).containsEntry("status", "SUCCEEDED");
		String modelId = (String) done.get("modelId");
		// the model carries the backbone's graph in its artifact; its digest is recorded
		assertThat(this.jdbc.sql("select backbone_sha256 from models where id = ?")
			.param(UUID.fromString(modelId))
			.query(String.class)
			.single()).hasSize(64);
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("image", TestApi.file(TestImages.png(java.awt.Color.RED, 32, 1), "red.png"));
		Map<String, Object> predictions = this.client.post()
			.uri("/api/v1/models/" + modelId + "/predictions")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		assertThat(predictions.get("predictions")).asList().hasSize(1);

		// a model from before its backbone was recorded is inspected once, then recorded
		this.jdbc.sql("update models set backbone_sha256 = null where id = ?").param(UUID.fromString(modelId)).update();
		Path dir = this.models.acceptedArtifactDir(UUID.fromString(modelId));
		assertThat(dir).isDirectory();
		assertThat(this.jdbc.sql("select backbone_sha256 from models where id = ?")
			.param(UUID.fromString(modelId))
			.query(String.class)
			.single()).hasSize(64);
		// a backbone file that is not the recorded one is not loaded
		this.jdbc.sql("update models set backbone_sha256 = ? where id = ?")
			.param("0".repeat(64))
			.param(UUID.fromString(modelId))
			.update();
		assertThatThrownBy(() -> this.models.acceptedArtifactDir(UUID.fromString(modelId)))
			.isInstanceOf(ApiException.class)
			.hasMessageContaining("not the one recorded");
	}

	@Test
	void validationPlansAnUploadedBackboneFromItsInspectionWithoutRunningIt() throws IOException {
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.2");
		String scripted = (String) upload(
				new ClassPathResource("fixtures/tiny-backbone-scripted.pt").getContentAsByteArray(), HttpStatus.CREATED)
			.get("id");
		String traced = (String) upload(
				new ClassPathResource("fixtures/tiny-backbone-partial.pt").getContentAsByteArray(), HttpStatus.CREATED)
			.get("id");
		// the sandbox recorded how each one's BatchNorms behave in train mode
		assertThat(batchStatistics(scripted)).isTrue();
		assertThat(batchStatistics(traced)).isFalse();

		// what validation reports comes from that record: a count planted in it shows up,
		// which it could not if the graph were loaded and counted here
		this.jdbc.sql("update backbones set parameter_totals = '{\"stem\": 1000000}' where id = ?")
			.param(scripted)
			.update();
		Map<String, Object> validation = this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset, "baseModel", scripted, "freeze", Map.of("upTo", "none"),
					"hyperparameters", Map.of("imageSize", 32)))
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		Map<?, ?> parameters = (Map<?, ?>) validation.get("parameters");
		assertThat(((Number) parameters.get("total")).longValue()).isGreaterThan(1_000_000L);
		Map<?, ?> batchNorm = (Map<?, ?>) validation.get("batchNorm");
		assertThat((String) batchNorm.get("reason")).startsWith("scripted TorchScript");
		assertThat(((Map<?, ?>) batchNorm.get("byStage")).values()).allMatch("train"::equals);

		validate(dataset, traced).expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.batchNorm.reason")
			.value(String.class, (reason) -> assertThat(reason).startsWith("TorchScript traced in eval mode"));

		// a row inspected before this was recorded is inspected again, once
		this.jdbc.sql("update backbones set batch_statistics = null where id = ?").param(traced).update();
		validate(dataset, traced).expectStatus().isOk();
		assertThat(batchStatistics(traced)).isFalse();
	}

	private Boolean batchStatistics(String id) {
		return this.jdbc.sql("select batch_statistics from backbones where id = ?")
			.param(id)
			.query(Boolean.class)
			.single();
	}

	@Test
	void backbonesFromBeforeInspectionAreInspectedOnFirstUse() throws IOException {
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.2");
		// a valid one: inspected when a job first names it, then recorded
		String valid = legacyBackbone(HostileTorchScript.valid());
		validate(dataset, valid).expectStatus().isOk();
		assertThat(this.jdbc.sql("select inspected_sha256 from backbones where id = ?")
			.param(valid)
			.query(String.class)
			.single()).hasSize(64);
		// a hostile one: refused clearly, and shown as unavailable
		Path stolen = Files.createTempFile("stolen-", ".pt");
		Files.delete(stolen);
		String hostile = legacyBackbone(HostileTorchScript.readsAndWritesFiles("/etc/hostname", stolen.toString()));
		validate(dataset, hostile).expectStatus()
			.isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT)
			.expectBody()
			.jsonPath("$.detail")
			.value(String.class, (detail) -> assertThat(detail).contains("uploaded before", "aten::from_file"))
			.jsonPath("$.refused[0]")
			.isEqualTo("aten::from_file");
		assertThat(stolen).doesNotExist();
		BackboneView view = this.catalog.get(hostile);
		assertThat(view.available()).isFalse();
		assertThat(view.reason()).contains("aten::from_file");
		validate(dataset, hostile).expectStatus().isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT);
	}

	@Test
	void aBackboneFileChangedAfterItsInspectionIsNotRun() throws IOException {
		String id = (String) upload(HostileTorchScript.valid(), HttpStatus.CREATED).get("id");
		Path file = this.catalog.resolve(id).location();
		Files.write(file, HostileTorchScript.readsAndWritesFiles("/etc/hostname", "/tmp/never-written.pt"));
		String dataset = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.2");
		validate(dataset, id).expectStatus()
			.isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.BACKBONE_UNAVAILABLE.uri().toString())
			.jsonPath("$.detail")
			.value(String.class, (detail) -> assertThat(detail).contains("not the file its inspection accepted"));
	}

	@Test
	void builtInBackbonesCannotBeDeleted() {
		this.client.delete()
			.uri("/api/v1/backbones/resnet50-scratch")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT);
	}

	private Map<String, Object> upload(byte[] module, HttpStatus expected) {
		return this.client.post()
			.uri("/api/v1/backbones")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts(module, "backbone.pt", null))
			.exchange()
			.expectStatus()
			.isEqualTo(expected)
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	private static byte[] endlessLoop() {
		try {
			return HostileTorchScript.endlessLoop();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private RestTestClient.ResponseSpec validate(String dataset, String baseModel) {
		return this.client.post()
			.uri("/api/v1/jobs:validate")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", dataset, "baseModel", baseModel, "hyperparameters", Map.of("imageSize", 32)))
			.exchange();
	}

	/** A backbone row as uploads stored them before they were inspected: no record. */
	private String legacyBackbone(byte[] module) throws IOException {
		String id = UUID.randomUUID().toString();
		Path file = this.store.area("backbones", id).resolve(BackboneCatalog.BACKBONE_FILE);
		Files.createDirectories(file.getParent());
		Files.write(file, module);
		this.jdbc
			.sql("insert into backbones (id, name, sha256, feature_dim, input_size, stages, size_bytes, "
					+ "created_at) values (?, ?, ?, 16, 224, 'stem,layer1,layer2', ?, now())")
			.param(id)
			.param("legacy")
			.param("0".repeat(64))
			.param((long) module.length)
			.update();
		return id;
	}

	private Map<String, Object> getJson(String uri) {
		return this.client.get()
			.uri(uri)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
	}

	private static MultiValueMap<String, Object> parts(byte[] content, String filename, String name) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", TestApi.file(content, filename));
		if (name != null) {
			parts.add("name", name);
		}
		return parts;
	}

	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> items(Map<String, Object> body) {
		return (List<Map<String, Object>>) body.get("items");
	}

}
