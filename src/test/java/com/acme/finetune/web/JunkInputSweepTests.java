package com.acme.finetune.web;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.support.RawHttp;
import com.acme.finetune.support.RawHttp.Response;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every endpoint the application maps, read from the handler mapping (so endpoints added
 * later are swept too), gets junk: path variables of the wrong type or size, absurd query
 * parameters, bodies of every wrong kind. None may answer 5xx, and every error is a
 * problem body. Failures are collected and reported together.
 */
class JunkInputSweepTests extends AbstractIntegrationTests {

	private static final List<String> PATH_VALUES = List.of(UUID.randomUUID().toString(), "not-a-uuid",
			"99999999999999999999", "-1", "%20", "a".repeat(300), "%E2%98%83", "null", "..");

	private static final String QUERY = "?page=2147483647&size=2147483647&sort=lower(name)&topK=-99&status=NOPE"
			+ "&validationSplit=NaN&name=" + "n".repeat(2000);

	private static final String BOUNDARY = "junkb0undary";

	@LocalServerPort
	int port;

	@Autowired
	@Qualifier("requestMappingHandlerMapping")
	RequestMappingHandlerMapping mappings;

	@Test
	void noEndpointAnswers5xxToJunk() {
		RawHttp http = new RawHttp(this.port);
		List<String> failures = new ArrayList<>();
		int sent = 0;
		for (Endpoint endpoint : endpoints()) {
			for (String path : paths(endpoint.pattern())) {
				for (String query : List.of("", QUERY)) {
					for (Junk junk : junk(endpoint.method())) {
						Response reply = http.send(endpoint.method(), path + query, junk.headers(), junk.body());
						sent++;
						if (reply.status() >= 500 || (reply.status() >= 400 && !reply.isProblem())) {
							failures
								.add(endpoint.method() + " " + path + query.substring(0, Math.min(20, query.length()))
										+ " with " + junk.name() + " -> " + reply);
						}
					}
				}
			}
		}
		assertThat(sent).isGreaterThan(500);
		assertThat(failures).isEmpty();
	}

	/** Every mapped endpoint under /api, with each of its methods. */
	private List<Endpoint> endpoints() {
		Set<Endpoint> endpoints = new LinkedHashSet<>();
		for (RequestMappingInfo info : this.mappings.getHandlerMethods().keySet()) {
			Set<RequestMethod> methods = info.getMethodsCondition().getMethods();
			for (String pattern : info.getPatternValues()) {
				if (!pattern.startsWith("/api/")) {
					continue;
				}
				if (methods.isEmpty()) {
					endpoints.add(new Endpoint("GET", pattern));
				}
				methods.forEach((m) -> endpoints.add(new Endpoint(m.name(), pattern)));
			}
		}
		assertThat(endpoints).extracting(Endpoint::pattern)
			.contains("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models/{id}/predictions", "/api/v1/backbones");
		return new ArrayList<>(endpoints);
	}

	/** The pattern with each junk value in every variable (one value at a time). */
	private static List<String> paths(String pattern) {
		if (!pattern.contains("{")) {
			return List.of(pattern);
		}
		return PATH_VALUES.stream().map((v) -> pattern.replaceAll("\\{[^}]*}", v)).toList();
	}

	private static List<Junk> junk(String method) {
		List<Junk> junk = new ArrayList<>();
		junk.add(new Junk("no body", Map.of(), null));
		junk.add(new Junk("long idempotency key and last event id",
				Map.of("Idempotency-Key", "k".repeat(4000), "Last-Event-ID", "not-a-number"), null));
		if (method.equals("GET") || method.equals("DELETE")) {
			return junk;
		}
		for (String json : List.of("{}", "{\"datasetId\": {}}", "[]", "\"text\"", "{", "null", "1e999",
				"{\"datasetId\": \"" + UUID.randomUUID() + "\", \"hyperparameters\": {\"epochs\": 1e999}}",
				"[".repeat(5000))) {
			junk.add(body("json " + json.substring(0, Math.min(12, json.length())), "application/json", json));
		}
		junk.add(body("text", "text/plain", "hello"));
		junk.add(body("form", "application/x-www-form-urlencoded", "file=x&image=y"));
		junk.add(body("no content type", null, "raw"));
		junk.add(body("multipart without boundary", "multipart/form-data", "--x\r\n\r\nabc\r\n--x--\r\n"));
		junk.add(body("truncated multipart", "multipart/form-data; boundary=" + BOUNDARY,
				"--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nabc"));
		junk.add(body("multipart of junk parts", "multipart/form-data; boundary=" + BOUNDARY,
				part("file", "a.zip", "PK\u0003\u0004junk") + part("image", "a.png", "\u0089PNG\r\n\u001a\njunk")
						+ part("image", "b.tif", "II*\u0000\u0008\u0000\u0000\u0000") + part("topK", null, "abc")
						+ part("validationSplit", null, "7") + part("name", null, "x".repeat(1000)) + "--" + BOUNDARY
						+ "--\r\n"));
		junk.add(body("multipart with empty parts", "multipart/form-data; boundary=" + BOUNDARY,
				part("file", "", "") + part("image", "", "") + "--" + BOUNDARY + "--\r\n"));
		return junk;
	}

	private static String part(String name, String filename, String content) {
		return "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
				+ ((filename != null) ? "; filename=\"" + filename + "\"" : "") + "\r\n\r\n" + content + "\r\n";
	}

	private static Junk body(String name, String contentType, String body) {
		Map<String, String> headers = new LinkedHashMap<>();
		if (contentType != null) {
			headers.put("Content-Type", contentType);
		}
		return new Junk(name, headers, body.getBytes(StandardCharsets.ISO_8859_1));
	}

	record Endpoint(String method, String pattern) {
	}

	record Junk(String name, Map<String, String> headers, byte[] body) {
	}

}
