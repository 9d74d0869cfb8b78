package com.acme.finetune.tracing;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.acme.finetune.TestDatabaseConfiguration;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.micrometer.tracing.test.autoconfigure.AutoConfigureTracing;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Traces with export switched on into memory: a request is a server span; a job attempt
 * is a span whose epochs are its children; the job's webhook carries a
 * {@code traceparent} of the same trace; log lines carry the trace id.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "app.webhooks.allowed-targets=127.0.0.1", "management.tracing.sampling.probability=1.0",
				"management.opentelemetry.tracing.export.schedule-delay=100ms" })
@Import({ TestDatabaseConfiguration.class, TracingTests.Spans.class })
@AutoConfigureRestTestClient
@AutoConfigureTracing
@ExtendWith(OutputCaptureExtension.class)
class TracingTests {

	private static final AttributeKey<String> JOB_ID = AttributeKey.stringKey("job.id");

	@Autowired
	RestTestClient client;

	@Autowired
	InMemorySpanExporter spans;

	@Test
	void aRequestIsAServerSpan() {
		this.client.get().uri("/api/v1/datasets").exchange().expectStatus().isOk();
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(this.spans.getFinishedSpanItems()).anySatisfy((span) -> {
				assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
				assertThat(span.getName()).contains("/api/v1/datasets");
			}));
	}

	@Test
	void aJobAttemptSpansItsEpochsAndItsWebhook(CapturedOutput output) throws Exception {
		List<Map<String, String>> deliveries = new CopyOnWriteArrayList<>();
		HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
		receiver.createContext("/hook", (exchange) -> {
			exchange.getRequestBody().readAllBytes();
			Map<String, String> headers = new HashMap<>();
			exchange.getRequestHeaders()
				.forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values.get(0)));
			deliveries.add(headers);
			exchange.sendResponseHeaders(204, -1);
			exchange.close();
		});
		receiver.start();
		try {
			String datasetId = TestApi.uploadDataset(this.client, TestImages.redBlueDataset(4, 32), "0.25");
			Map<String, Object> spec = Map.of("datasetId", datasetId, "baseModel", "resnet50-scratch", "freeze",
					Map.of("upTo", "none", "batchNorm", "frozen"), "hyperparameters",
					Map.of("epochs", 2, "batchSize", 4, "imageSize", 32, "learningRate", 0.001, "seed", 7), "device",
					"cpu", "callbackUrl", "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook");
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
			await().atMost(Duration.ofMinutes(3))
				.pollInterval(Duration.ofMillis(500))
				.until(() -> !deliveries.isEmpty());

			SpanData attempt = await().atMost(Duration.ofSeconds(10))
				.until(() -> find("job attempt", jobId), (found) -> found.size() == 1)
				.get(0);
			assertThat(attempt.getAttributes().get(AttributeKey.stringKey("outcome"))).isEqualTo("succeeded");
			List<SpanData> epochs = find("epoch", jobId);
			assertThat(epochs).hasSize(2).allSatisfy((epoch) -> {
				assertThat(epoch.getTraceId()).isEqualTo(attempt.getTraceId());
				assertThat(epoch.getParentSpanId()).isEqualTo(attempt.getSpanId());
				assertThat(epoch.getEndEpochNanos()).isGreaterThan(epoch.getStartEpochNanos());
			});
			assertThat(epochs).extracting((epoch) -> epoch.getAttributes().get(AttributeKey.stringKey("epoch")))
				.containsExactlyInAnyOrder("1", "2");

			String traceparent = deliveries.get(0).get("traceparent");
			assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
			assertThat(traceparent.split("-")[1]).isEqualTo(attempt.getTraceId());
			SpanData delivery = await().atMost(Duration.ofSeconds(10))
				.until(() -> find("webhook delivery", jobId), (found) -> !found.isEmpty())
				.get(0);
			assertThat(delivery.getTraceId()).isEqualTo(attempt.getTraceId());
			assertThat(traceparent.split("-")[2]).isEqualTo(delivery.getSpanId());

			// the worker's log lines about the attempt carry its trace id
			assertThat(output.getOut().lines().filter((line) -> line.contains("Job " + jobId + " started on")))
				.singleElement()
				.asString()
				.contains(attempt.getTraceId());
		}
		finally {
			receiver.stop(0);
		}
	}

	private List<SpanData> find(String name, String jobId) {
		return this.spans.getFinishedSpanItems()
			.stream()
			.filter((span) -> span.getName().equals(name) && jobId.equals(span.getAttributes().get(JOB_ID)))
			.toList();
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Spans {

		@Bean
		InMemorySpanExporter inMemorySpanExporter() {
			return InMemorySpanExporter.create();
		}

	}

}
