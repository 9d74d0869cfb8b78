package com.acme.finetune.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.acme.finetune.AbstractIntegrationTests;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The checked-in {@code docs/openapi.json}, which client generators read, is the live
 * document: a controller that changes without the file following fails here. Regenerate
 * with {@code ./mvnw -q test -Dtest=OpenApiDocumentTests -Dopenapi.write=true} (or
 * {@code scripts/openapi-regenerate.sh}).
 */
class OpenApiDocumentTests extends AbstractIntegrationTests {

	/** Where generators (and the client test) read the document. */
	static final Path CHECKED_IN = Path.of("docs/openapi.json");

	static final JsonMapper JSON = JsonMapper.builder()
		.enable(SerializationFeature.INDENT_OUTPUT)
		.enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
		.build();

	@Autowired
	RestTestClient client;

	@Test
	void theCheckedInDocumentIsTheLiveOne() throws IOException {
		JsonNode live = JSON.readTree(this.client.get()
			.uri("/v3/api-docs")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody());
		if (Boolean.getBoolean("openapi.write") || "true".equals(System.getenv("OPENAPI_WRITE"))) {
			Files.writeString(CHECKED_IN, canonical(live), StandardCharsets.UTF_8);
		}
		if (!Files.exists(CHECKED_IN)) {
			fail(CHECKED_IN + " is missing; generate it with: " + REGENERATE);
		}
		JsonNode checkedIn = JSON.readTree(Files.readString(CHECKED_IN));
		if (!checkedIn.equals(live)) {
			fail(CHECKED_IN + " differs from the live /v3/api-docs at " + differences(checkedIn, live, "$")
					+ "; if the API change is intended, regenerate it with: " + REGENERATE);
		}
	}

	@Test
	void everyOperationIsUsableByAGenerator() throws IOException {
		JsonNode doc = JSON.readTree(this.client.get()
			.uri("/v3/api-docs")
			.exchange()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody());
		List<String> ids = new ArrayList<>();
		for (Map.Entry<String, JsonNode> path : doc.get("paths").properties()) {
			for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
				JsonNode operation = op.getValue();
				String where = op.getKey() + " " + path.getKey();
				assertThat(operation.path("operationId").asString("")).as(where).isNotBlank().doesNotContain("_");
				ids.add(operation.get("operationId").asString());
				assertThat(operation.get("responses").has("401")).as(where).isTrue();
				operation.get("responses").properties().forEach((response) -> {
					if (response.getKey().startsWith("4") || response.getKey().startsWith("5")) {
						assertThat(
								response.getValue().at("/content/application~1problem+json/schema/$ref").asString(""))
							.as(where + " " + response.getKey())
							.isEqualTo("#/components/schemas/Problem");
					}
				});
			}
		}
		assertThat(ids).doesNotHaveDuplicates();
		// the job spec is typed, with enums, ranges and defaults
		JsonNode submit = doc.at("/paths/~1api~1v1~1jobs/post");
		assertThat(submit.at("/requestBody/content/application~1json/schema/$ref").asString())
			.isEqualTo("#/components/schemas/JobSpec");
		JsonNode hyper = doc.at("/components/schemas/JobSpecHyperparameters/properties");
		assertThat(hyper.at("/optimizer/enum").toString()).contains("sgd", "adam", "adamw");
		assertThat(hyper.at("/epochs/maximum").asInt()).isEqualTo(1000);
		assertThat(hyper.at("/imageSize/default").asInt()).isEqualTo(224);
		assertThat(submit.at("/responses/422").isMissingNode()).isFalse();
		assertThat(submit.at("/parameters").toString()).contains("Idempotency-Key");
		JsonNode events = doc.at("/paths/~1api~1v1~1jobs~1{id}~1events/get");
		assertThat(events.at("/responses/200/content").has("text/event-stream")).isTrue();
		assertThat(events.at("/parameters").toString()).contains("Last-Event-ID");
		assertThat(doc.at("/paths/~1api~1v1~1models/get/parameters").toString()).contains("pageToken");
		assertThat(doc.at("/components/schemas/Problem/properties").has("errors")).isTrue();
		assertThat(doc.at("/paths/~1api~1v1~1registered-models~1{name}~1aliases~1{alias}/put/responses").has("412"))
			.isTrue();
	}

	static final String REGENERATE = "./mvnw -q test -Dtest=OpenApiDocumentTests -Dopenapi.write=true";

	static String canonical(JsonNode document) {
		return JSON.writeValueAsString(JSON.treeToValue(document, Map.class)) + "\n";
	}

	/** The first few JSON paths where the two differ, for the failure message. */
	private static String differences(JsonNode expected, JsonNode actual, String at) {
		List<String> found = new ArrayList<>();
		collect(expected, actual, at, found);
		return String.join(", ", found.subList(0, Math.min(5, found.size())));
	}

	private static void collect(JsonNode expected, JsonNode actual, String at, List<String> found) {
		if (found.size() >= 5 || expected.equals(actual)) {
			return;
		}
		if (expected.isObject() && actual.isObject()) {
			for (String name : expected.propertyNames()) {
				if (!actual.has(name)) {
					found.add(at + "." + name + " (gone)");
				}
				else {
					collect(expected.get(name), actual.get(name), at + "." + name, found);
				}
			}
			for (String name : actual.propertyNames()) {
				if (!expected.has(name)) {
					found.add(at + "." + name + " (new)");
				}
			}
			return;
		}
		found.add(at);
	}

}
