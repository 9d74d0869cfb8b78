package com.acme.finetune.web;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.RawHttp;
import com.acme.finetune.support.RawHttp.Response;
import com.acme.finetune.support.TestApi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests that used to end in a 500 (issue 14, group 3): each is now a 4xx problem with
 * a stable type.
 */
class HostileRequestTests extends AbstractIntegrationTests {

	private static final List<String> LISTS = List.of("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models",
			"/api/v1/backbones");

	private static final List<String> MULTIPART_ENDPOINTS = List.of("/api/v1/datasets", "/api/v1/backbones",
			"/api/v1/models/00000000-0000-0000-0000-000000000000/predictions");

	@LocalServerPort
	int port;

	@Autowired
	ObjectMapper json;

	RawHttp http;

	@BeforeEach
	void client() {
		this.http = new RawHttp(this.port);
	}

	@Test
	void wrongJsonTypesInAJobSpecAreListed() {
		for (String path : List.of("/api/v1/jobs", "/api/v1/jobs:validate")) {
			Response reply = this.http.send("POST", path, "application/json", "{\"datasetId\": {}}");
			assertProblem(reply, 400, "validation-error");
			assertThat(reply.body()).contains("\"field\":\"datasetId\"").contains("must be a UUID string");

			reply = this.http.send("POST", path, "application/json",
					"{\"datasetId\": [1], \"baseModel\": 5, \"freeze\": \"layer4\", \"device\": {},"
							+ " \"timeoutMinutes\": 1.5, \"callbackUrl\": [],"
							+ " \"hyperparameters\": {\"epochs\": \"ten\", \"learningRate\": {}, \"optimizer\": 1,"
							+ " \"seed\": 1e400, \"momentum\": 1e999, \"earlyStopping\": []}}");
			assertProblem(reply, 400, "validation-error");
			for (String field : List.of("datasetId", "baseModel", "freeze", "device", "timeoutMinutes", "callbackUrl",
					"hyperparameters.epochs", "hyperparameters.learningRate", "hyperparameters.optimizer",
					"hyperparameters.seed", "hyperparameters.momentum", "hyperparameters.earlyStopping")) {
				assertThat(reply.body()).as(field).contains("\"field\":\"" + field + "\"");
			}
		}
	}

	@Test
	void nonObjectJobBodiesAreRefused() {
		for (String body : List.of("[]", "\"text\"", "42", "null", "{", "{\"datasetId\": \"x\",}", "")) {
			Response reply = this.http.send("POST", "/api/v1/jobs", "application/json", body);
			assertThat(reply.status()).as(body).isEqualTo(400);
			assertThat(reply.isProblem()).as(body).isTrue();
		}
	}

	@Test
	void multipartWithoutBoundaryIsABadRequest() {
		for (String path : MULTIPART_ENDPOINTS) {
			assertProblem(this.http.send("POST", path, "multipart/form-data", "--x\r\n\r\nabc\r\n--x--\r\n"), 400,
					"malformed-request");
		}
	}

	@Test
	void truncatedMultipartIsABadRequest() {
		String truncated = "--b0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n"
				+ "Content-Type: application/zip\r\n\r\nPK\u0003\u0004 and then the connection";
		String garbage = "this is not multipart at all";
		for (String path : MULTIPART_ENDPOINTS) {
			assertProblem(this.http.send("POST", path, "multipart/form-data; boundary=b0und", truncated), 400,
					"malformed-request");
			// no delimiter at all reads as a multipart body without parts: the part is
			// missing
			Response empty = this.http.send("POST", path, "multipart/form-data; boundary=b0und", garbage);
			assertThat(empty.status()).as("%s", empty).isEqualTo(400);
			assertThat(empty.isProblem()).as("%s", empty).isTrue();
		}
	}

	@Test
	void nonMultipartBodiesOnMultipartEndpointsAreUnsupported() {
		for (String path : MULTIPART_ENDPOINTS) {
			assertProblem(this.http.send("POST", path, "application/json", "{\"file\": \"x\"}"), 415,
					"unsupported-media-type");
			assertProblem(this.http.send("POST", path, "application/x-www-form-urlencoded", "file=x"), 415,
					"unsupported-media-type");
			assertProblem(this.http.send("POST", path, null, "raw bytes"), 415, "unsupported-media-type");
		}
	}

	@Test
	void hugeOrNegativePagingIsRefusedOnEveryList() {
		for (String list : LISTS) {
			for (String query : List.of("page=2147483647", "page=2147483647&size=100", "size=2147483647", "size=0",
					"size=101", "page=-1", "size=-5", "page=99999999999", "page=1e3", "size=abc")) {
				assertProblem(this.http.get(list + "?" + query), 400, "validation-error");
			}
			// the furthest reachable page is an ordinary (empty) page
			Response last = this.http.get(list + "?page=2147483647&size=1");
			assertThat(last.status()).as(list).isEqualTo(200);
			assertThat(last.body()).contains("\"items\":[]").contains("\"page\":2147483647");
			assertThat(this.http.get(list + "?page=0&size=100").status()).isEqualTo(200);
		}
	}

	@Test
	void craftedSortsAreValidationErrors() {
		for (String list : LISTS) {
			for (String sort : List.of("password", "dataset.name", "spec.hyperparameters", "lower(name)",
					"createdAt;drop table jobs", "createdAt,desc,name", "createdAt,sideways", "createdAt desc",
					"labels", "artifactPath", "'", "id)--", ",", "createdAt,", "%00", "a".repeat(5000))) {
				Response reply = this.http
					.get(list + "?sort=" + java.net.URLEncoder.encode(sort, StandardCharsets.UTF_8));
				assertProblem(reply, 400, "validation-error");
				assertThat(reply.body()).contains("\"field\":\"sort\"").doesNotContain("a".repeat(100));
			}
			// two sort parameters are one sort too many
			assertProblem(this.http.get(list + "?sort=id&sort=id"), 400, "validation-error");
		}
		for (String list : List.of("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models")) {
			assertThat(this.http.get(list + "?sort=createdAt,asc").status()).isEqualTo(200);
			assertThat(this.http.get(list + "?sort=createdAt,DESC").status()).isEqualTo(200);
		}
		assertThat(this.http.get("/api/v1/backbones?sort=id,desc").status()).isEqualTo(200);
	}

	@Test
	void backbonesArePagedLikeEveryList() {
		Response one = this.http.get("/api/v1/backbones?size=1");
		assertThat(one.status()).isEqualTo(200);
		assertThat(one.body()).contains("\"size\":1").contains("\"page\":0").contains("\"totalItems\":");
		// built-ins first
		assertThat(one.body()).contains("\"id\":\"resnet50-imagenet\"").doesNotContain("resnet50-scratch");
		Map<String, Object> byId = this.json.readValue(this.http.get("/api/v1/backbones?size=100&sort=id,desc").body(),
				TestApi.JSON_MAP);
		@SuppressWarnings("unchecked")
		List<String> ids = ((List<Map<String, Object>>) byId.get("items")).stream()
			.map((b) -> (String) b.get("id"))
			.toList();
		assertThat(ids).contains("resnet50-scratch", "resnet50-imagenet")
			.isSortedAccordingTo(Comparator.reverseOrder());
	}

	static void assertProblem(Response reply, int status, String type) {
		assertThat(reply.status()).as("%s", reply).isEqualTo(status);
		assertThat(reply.isProblem()).as("%s", reply).isTrue();
		assertThat(reply.problemType()).as("%s", reply).isEqualTo(type);
	}

}
