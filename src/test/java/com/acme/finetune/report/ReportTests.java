package com.acme.finetune.report;

import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.w3c.dom.Document;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The report end to end: a real (tiny) job on a dataset whose class folder is named like
 * an XSS payload, then the HTML page and every SVG over HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReportTests extends AbstractIntegrationTests {

	static final String HOSTILE = "<script>alert('x')<";

	private static final ParameterizedTypeReference<Map<String, Object>> MAP = new ParameterizedTypeReference<>() {
	};

	@Autowired
	RestTestClient client;

	String jobId;

	String confusionBeforeSuccess;

	@BeforeAll
	void runATinyJob() {
		Map<String, Color> classes = new LinkedHashMap<>();
		classes.put(HOSTILE, new Color(200, 50, 40));
		classes.put("blue", new Color(40, 60, 200));
		String datasetId = TestApi.uploadDataset(this.client, TestImages.colourDataset(8, 32, classes), "0.25");
		Map<String, Object> job = this.client.post()
			.uri("/api/v1/jobs")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("datasetId", datasetId, "baseModel", "resnet50-scratch", "freeze",
					Map.of("upTo", "none", "batchNorm", "frozen"), "hyperparameters",
					Map.of("epochs", 2, "batchSize", 4, "imageSize", 32, "seed", 7), "device", "cpu"))
			.exchange()
			.expectStatus()
			.isAccepted()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		this.jobId = (String) job.get("id");
		// training takes seconds to start: the matrix cannot exist yet
		this.confusionBeforeSuccess = this.client.get()
			.uri("/api/v1/jobs/" + this.jobId + "/report/confusion-matrix.svg")
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(300)).until(() -> {
			Object status = this.client.get()
				.uri("/api/v1/jobs/" + this.jobId)
				.exchange()
				.expectBody(MAP)
				.returnResult()
				.getResponseBody()
				.get("status");
			assertThat(status).isIn("QUEUED", "RUNNING", "SUCCEEDED");
			return "SUCCEEDED".equals(status);
		});
	}

	@Test
	void thePageIsHtmlWithTheResultsAndNoScript() {
		EntityExchangeResult<String> result = this.client.get()
			.uri("/api/v1/jobs/" + this.jobId + "/report")
			.accept(MediaType.TEXT_HTML)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_HTML)
			.expectHeader()
			.valueMatches("Content-Security-Policy", ".*default-src 'none'.*")
			.expectBody(String.class)
			.returnResult();
		String page = result.getResponseBody();
		assertThat(page).startsWith("<!DOCTYPE html>")
			.contains(this.jobId)
			.contains("SUCCEEDED")
			.contains("resnet50-scratch")
			.contains("macro average")
			.contains("Confusion matrix")
			.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;")
			.doesNotContain(HOSTILE)
			.doesNotContainIgnoringCase("<script");
		Map<String, Object> metrics = this.client.get()
			.uri("/api/v1/jobs/" + this.jobId + "/metrics")
			.exchange()
			.expectBody(MAP)
			.returnResult()
			.getResponseBody();
		// the last epoch's train loss, as the per-epoch table prints it
		List<Map<String, Object>> epochs = (List<Map<String, Object>>) metrics.get("epochs");
		double loss = ((Number) epochs.get(1).get("trainLoss")).doubleValue();
		assertThat(page).contains(String.format(java.util.Locale.ROOT, "%.4f", loss));
	}

	@Test
	void aFinishedJobAndItsReportRevalidateWithTheirETags() {
		for (String uri : List.of("/api/v1/jobs/" + this.jobId, "/api/v1/jobs/" + this.jobId + "/metrics",
				"/api/v1/jobs/" + this.jobId + "/report", "/api/v1/jobs/" + this.jobId + "/report/loss.svg")) {
			String etag = this.client.get()
				.uri(uri)
				.exchange()
				.expectStatus()
				.isOk()
				.expectHeader()
				.valueEquals(HttpHeaders.CACHE_CONTROL, "no-cache, private")
				.returnResult(String.class)
				.getResponseHeaders()
				.getETag();
			assertThat(etag).as(uri).isNotBlank();
			this.client.get()
				.uri(uri)
				.header(HttpHeaders.IF_NONE_MATCH, etag)
				.exchange()
				.expectStatus()
				.isNotModified();
		}
	}

	@Test
	void everyChartIsWellFormedSvg() throws Exception {
		for (String chart : List.of("loss", "accuracy", "learning-rate", "confusion-matrix")) {
			byte[] body = this.client.get()
				.uri("/api/v1/jobs/" + this.jobId + "/report/" + chart + ".svg")
				.exchange()
				.expectStatus()
				.isOk()
				.expectHeader()
				.contentTypeCompatibleWith(MediaType.valueOf("image/svg+xml"))
				.expectHeader()
				.exists("Content-Security-Policy")
				.expectBody(byte[].class)
				.returnResult()
				.getResponseBody();
			String svg = new String(body, StandardCharsets.UTF_8);
			Document document = ReportRenderingTests.parse(svg);
			assertThat(document.getDocumentElement().getTagName()).as(chart).isEqualTo("svg");
			assertThat(svg).as(chart).doesNotContain("<script").doesNotContain("NaN");
		}
		String matrix = new String(this.client.get()
			.uri("/api/v1/jobs/" + this.jobId + "/report/confusion-matrix.svg")
			.exchange()
			.expectBody(byte[].class)
			.returnResult()
			.getResponseBody(), StandardCharsets.UTF_8);
		assertThat(matrix).contains("&lt;script&gt;").contains("predicted label");
		assertThat(ReportRenderingTests.parse(matrix).getDocumentElement().getTextContent()).contains(HOSTILE);
		String loss = new String(this.client.get()
			.uri("/api/v1/jobs/" + this.jobId + "/report/loss.svg")
			.exchange()
			.expectBody(byte[].class)
			.returnResult()
			.getResponseBody(), StandardCharsets.UTF_8);
		assertThat(loss).contains("train, epoch 2: ").contains("validation, epoch 1: ");
	}

	@Test
	void theConfusionMatrixOfAnUnfinishedJobIsANotFoundProblem() {
		assertThat(this.confusionBeforeSuccess).contains(ProblemType.NOT_FOUND.uri().toString())
			.contains("no confusion matrix yet");
	}

	@Test
	void anUnknownJobIsANotFoundProblem() {
		for (String path : List.of("", "/loss.svg", "/confusion-matrix.svg")) {
			this.client.get()
				.uri("/api/v1/jobs/" + UUID.randomUUID() + "/report" + path)
				.exchange()
				.expectStatus()
				.isNotFound()
				.expectHeader()
				.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
				.expectBody()
				.jsonPath("$.type")
				.isEqualTo(ProblemType.NOT_FOUND.uri().toString());
		}
	}

	@Test
	void theOpenApiDescriptionNamesTheMediaTypes() {
		this.client.get()
			.uri("/v3/api-docs")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.paths['/api/v1/jobs/{id}/report'].get.responses['200'].content['text/html']")
			.exists()
			.jsonPath("$.paths['/api/v1/jobs/{id}/report/loss.svg'].get.responses['200'].content['image/svg+xml']")
			.exists();
	}

}
