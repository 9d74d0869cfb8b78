package com.acme.finetune.backbone;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Uploaded TorchScript backbones: checked by loading, listed, usable by jobs, deletable.
 */
class BackboneApiTests extends AbstractIntegrationTests {

	private static final ParameterizedTypeReference<Map<String, Object>> MAP = new ParameterizedTypeReference<>() {
	};

	@Autowired
	RestTestClient client;

	@Autowired
	BackboneCatalog catalog;

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
	void builtInBackbonesCannotBeDeleted() {
		this.client.delete()
			.uri("/api/v1/backbones/resnet50-scratch")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT);
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
