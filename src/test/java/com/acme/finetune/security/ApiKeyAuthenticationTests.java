package com.acme.finetune.security;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.server.PathContainer;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With API keys configured, every {@code /api/**} route refuses anonymous and wrongly
 * keyed calls with problems and accepts a right key, while probes, info, metrics and the
 * API docs stay open. Routes are read from the handler mapping, so routes that other
 * capabilities add later are covered without editing this test. Named keys get exactly
 * their scopes on every route, and a route nobody mapped to a scope needs admin.
 */
@TestPropertySource(properties = "app.security.api-keys=" + ApiKeyAuthenticationTests.KEY + ", second-key-0002, "
		+ "reader:read-key-0003:read, predictor:predict-key-0004:predict, trainer:train-key-0005:train, "
		+ "admin:admin-key-0006:admin")
@AutoConfigureMetrics
@Import(ApiKeyAuthenticationTests.ProbeRoutes.class)
class ApiKeyAuthenticationTests extends AbstractIntegrationTests {

	static final String KEY = "right-key-0001";

	/**
	 * Routes the SPEC defines; some may not exist yet on this branch (then a right key
	 * gets 404).
	 */
	private static final List<Route> FIXED = List.of(new Route(HttpMethod.GET, "/api/v1/datasets"),
			new Route(HttpMethod.POST, "/api/v1/datasets"), new Route(HttpMethod.GET, "/api/v1/backbones"),
			new Route(HttpMethod.GET, "/api/v1/jobs"), new Route(HttpMethod.POST, "/api/v1/jobs"),
			new Route(HttpMethod.GET, "/api/v1/jobs/" + UUID.randomUUID()), new Route(HttpMethod.GET, "/api/v1/models"),
			new Route(HttpMethod.POST, "/api/v1/models/" + UUID.randomUUID() + "/predictions"),
			new Route(HttpMethod.GET, "/api/v1/nothing-here"), new Route(HttpMethod.GET, "/api"));

	@Autowired
	RestTestClient client;

	@Autowired
	@Qualifier("requestMappingHandlerMapping")
	RequestMappingHandlerMapping mappings;

	@Test
	void routesAreEnumerated() {
		assertThat(apiRoutes()).contains(new Route(HttpMethod.GET, ProbeRoutes.PATH));
	}

	@Test
	void anonymousCallsAreUnauthorized() {
		for (Route route : allRoutes()) {
			this.client.method(route.method())
				.uri(route.path())
				.exchange()
				.expectStatus()
				.isUnauthorized()
				.expectHeader()
				.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
				.expectHeader()
				.valueMatches(HttpHeaders.WWW_AUTHENTICATE, "Bearer .*")
				.expectBody()
				.jsonPath("$.type")
				.isEqualTo(ProblemType.UNAUTHORIZED.uri().toString())
				.jsonPath("$.status")
				.isEqualTo(401);
		}
	}

	@Test
	void nonBearerAuthorizationCountsAsNoKey() {
		this.client.get()
			.uri(ProbeRoutes.PATH)
			.header(HttpHeaders.AUTHORIZATION, "Basic " + KEY)
			.exchange()
			.expectStatus()
			.isUnauthorized();
	}

	@Test
	void wrongKeysAreForbidden() {
		for (Route route : allRoutes()) {
			for (Map.Entry<String, String> header : List.of(Map.entry(ApiKeyFilter.API_KEY_HEADER, "wrong-key"),
					Map.entry(HttpHeaders.AUTHORIZATION, "Bearer wrong-key"))) {
				this.client.method(route.method())
					.uri(route.path())
					.header(header.getKey(), header.getValue())
					.exchange()
					.expectStatus()
					.isForbidden()
					.expectHeader()
					.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
					.expectBody()
					.jsonPath("$.type")
					.isEqualTo(ProblemType.FORBIDDEN.uri().toString())
					.jsonPath("$.status")
					.isEqualTo(403)
					.jsonPath("$.detail")
					.value((detail) -> assertThat(detail.toString()).doesNotContain("wrong-key"));
			}
		}
	}

	@Test
	void rightKeysAreAccepted() {
		for (Route route : allRoutes()) {
			for (Map.Entry<String, String> header : List.of(Map.entry(ApiKeyFilter.API_KEY_HEADER, KEY),
					Map.entry(HttpHeaders.AUTHORIZATION, "Bearer second-key-0002"))) {
				int status = this.client.method(route.method())
					.uri(route.path())
					.header(header.getKey(), header.getValue())
					.exchange()
					.expectBody(String.class)
					.returnResult()
					.getStatus()
					.value();
				assertThat(status).as("%s with %s", route, header.getKey()).isNotIn(401, 403);
			}
		}
		this.client.get()
			.uri(ProbeRoutes.PATH)
			.header(ApiKeyFilter.API_KEY_HEADER, KEY)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.isEqualTo("ok");
	}

	@Test
	void probesInfoAndMetricsStayOpen() {
		for (String path : List.of("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness",
				"/actuator/info")) {
			this.client.get().uri(path).exchange().expectStatus().isOk();
		}
		String metrics = this.client.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(metrics).contains("jvm_memory_used_bytes")
			.contains("finetune_jobs{status=\"QUEUED\"}")
			.contains("finetune_jobs_queue_depth");
	}

	@Test
	void apiDocsStayOpen() {
		this.client.get()
			.uri("/v3/api-docs")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.paths['" + ProbeRoutes.PATH
					+ "'].get.responses['401'].content['application/problem+json'].schema.$ref")
			.isEqualTo("#/components/schemas/Problem")
			.jsonPath("$.components.schemas.Problem.properties.type.format")
			.isEqualTo("uri");
		this.client.get().uri("/swagger-ui/index.html").exchange().expectStatus().isOk();
	}

	@Test
	void everythingElseNeedsAKeyToo() {
		// deny by default: other actuator endpoints and unknown paths are not open
		for (String path : List.of("/actuator", "/actuator/env", "/anything", "/actuator/health/../env",
				"/actuator/health;x=y/../../api/v1/jobs", "/v3/api-docs/../../api/v1/jobs")) {
			this.client.get().uri(path).exchange().expectStatus().isUnauthorized();
		}
	}

	/** The scope of every endpoint the SPEC defines; anything else needs admin. */
	private static final Map<String, Scope> EXPECTED_SCOPES = Map.ofEntries(
			Map.entry("GET /api/v1/datasets", Scope.READ), Map.entry("POST /api/v1/datasets", Scope.TRAIN),
			Map.entry("GET /api/v1/datasets/{id}", Scope.READ), Map.entry("DELETE /api/v1/datasets/{id}", Scope.ADMIN),
			Map.entry("GET /api/v1/backbones", Scope.READ), Map.entry("POST /api/v1/backbones", Scope.ADMIN),
			Map.entry("GET /api/v1/backbones/{id}", Scope.READ),
			Map.entry("DELETE /api/v1/backbones/{id}", Scope.ADMIN), Map.entry("GET /api/v1/jobs", Scope.READ),
			Map.entry("POST /api/v1/jobs", Scope.TRAIN), Map.entry("POST /api/v1/jobs:validate", Scope.TRAIN),
			Map.entry("GET /api/v1/jobs/{id}", Scope.READ), Map.entry("GET /api/v1/jobs/{id}/metrics", Scope.READ),
			Map.entry("GET /api/v1/jobs/{id}/events", Scope.READ),
			Map.entry("POST /api/v1/jobs/{id}:cancel", Scope.TRAIN),
			Map.entry("GET /api/v1/jobs/{id}/report", Scope.READ),
			Map.entry("GET /api/v1/jobs/{id}/report/loss.svg", Scope.READ),
			Map.entry("GET /api/v1/jobs/{id}/report/accuracy.svg", Scope.READ),
			Map.entry("GET /api/v1/jobs/{id}/report/learning-rate.svg", Scope.READ),
			Map.entry("GET /api/v1/jobs/{id}/report/confusion-matrix.svg", Scope.READ),
			Map.entry("GET /api/v1/models", Scope.READ), Map.entry("GET /api/v1/models/{id}", Scope.READ),
			Map.entry("GET /api/v1/models/{id}/artifact", Scope.READ),
			Map.entry("DELETE /api/v1/models/{id}", Scope.ADMIN),
			Map.entry("POST /api/v1/models/{id}/predictions", Scope.PREDICT),
			Map.entry("GET /api/v1/models/{id}/export", Scope.READ),
			Map.entry("GET /api/v1/registered-models", Scope.READ),
			Map.entry("GET /api/v1/registered-models/{name}", Scope.READ),
			Map.entry("PATCH /api/v1/registered-models/{name}", Scope.TRAIN),
			Map.entry("DELETE /api/v1/registered-models/{name}", Scope.ADMIN),
			Map.entry("POST /api/v1/registered-models/{name}/versions", Scope.TRAIN),
			Map.entry("GET /api/v1/registered-models/{name}/versions", Scope.READ),
			Map.entry("GET /api/v1/registered-models/{name}/versions/{version}", Scope.READ),
			Map.entry("DELETE /api/v1/registered-models/{name}/versions/{version}", Scope.ADMIN),
			Map.entry("GET /api/v1/registered-models/{name}/aliases", Scope.READ),
			Map.entry("GET /api/v1/registered-models/{name}/aliases/{alias}", Scope.READ),
			Map.entry("PUT /api/v1/registered-models/{name}/aliases/{alias}", Scope.TRAIN),
			Map.entry("DELETE /api/v1/registered-models/{name}/aliases/{alias}", Scope.ADMIN),
			Map.entry("GET /api/v1/registered-models/{name}/aliases/{alias}/history", Scope.READ),
			Map.entry("POST /api/v1/registered-models/{name}/aliases/{alias}/predictions", Scope.PREDICT),
			Map.entry("POST /api/v1/registered-models/{name}/versions/{version}/predictions", Scope.PREDICT),
			Map.entry("POST /api/v1/jobs/{id}:resume", Scope.TRAIN), Map.entry("POST /api/v1/sweeps", Scope.TRAIN),
			Map.entry("GET /api/v1/sweeps", Scope.READ), Map.entry("GET /api/v1/sweeps/{id}", Scope.READ),
			Map.entry("POST /api/v1/sweeps/{id}:cancel", Scope.TRAIN),
			Map.entry("POST /api/v1/sweeps:validate", Scope.TRAIN),
			Map.entry("GET /api/v1/sweeps/{id}/events", Scope.READ),
			Map.entry("GET /api/v1/sweeps/{id}/report", Scope.READ),
			Map.entry("POST /api/v1/models/{id}/explanations", Scope.PREDICT),
			Map.entry("POST /api/v1/registered-models/{name}/aliases/{alias}/explanations", Scope.PREDICT),
			Map.entry("POST /api/v1/registered-models/{name}/versions/{version}/explanations", Scope.PREDICT),
			Map.entry("POST /api/v1/models/{id}/evaluations", Scope.TRAIN),
			Map.entry("POST /api/v1/registered-models/{name}/aliases/{alias}/evaluations", Scope.TRAIN),
			Map.entry("GET /api/v1/models/{id}/evaluations", Scope.READ),
			Map.entry("GET /api/v1/evaluations/{id}", Scope.READ),
			Map.entry("GET /api/v1/evaluations/{id}/report", Scope.READ),
			Map.entry("POST /api/v1/models/{id}/batch-predictions", Scope.PREDICT),
			Map.entry("GET /api/v1/batch-predictions/{id}", Scope.PREDICT),
			Map.entry("GET /api/v1/batch-predictions/{id}/results", Scope.PREDICT),
			Map.entry("GET /api/v1/batch-predictions/{id}/events", Scope.PREDICT));

	private static final Map<Scope, String> SCOPED_KEYS = Map.of(Scope.READ, "read-key-0003", Scope.PREDICT,
			"predict-key-0004", Scope.TRAIN, "train-key-0005", Scope.ADMIN, "admin-key-0006");

	@Test
	void everyMappedEndpointHasTheScopeTheContractSays() {
		Map<String, Scope> actual = new java.util.TreeMap<>();
		for (RequestMappingInfo info : this.mappings.getHandlerMethods().keySet()) {
			for (String pattern : info.getPatternValues()) {
				if (!pattern.startsWith("/api/")) {
					continue;
				}
				String path = pattern.replaceAll("\\{[^}]*}", UUID.randomUUID().toString());
				for (RequestMethod method : info.getMethodsCondition().getMethods()) {
					actual.put(method + " " + pattern,
							EndpointScopes.required(method.name(), PathContainer.parsePath(path)));
				}
			}
		}
		assertThat(actual).containsAllEntriesOf(EXPECTED_SCOPES);
		// deny by default: what the table does not name (here the test-only route) is
		// admin
		actual.forEach((endpoint, scope) -> {
			if (!EXPECTED_SCOPES.containsKey(endpoint)) {
				assertThat(scope).as(endpoint).isEqualTo(Scope.ADMIN);
			}
		});
		assertThat(actual).containsEntry("GET " + ProbeRoutes.PATH, Scope.ADMIN);
		assertThat(EndpointScopes.required("HEAD", PathContainer.parsePath("/api/v1/models"))).isEqualTo(Scope.READ);
		assertThat(EndpointScopes.required("PUT", PathContainer.parsePath("/api/v1/models"))).isEqualTo(Scope.ADMIN);
		assertThat(EndpointScopes.required("GET", PathContainer.parsePath("/api/v1/models/x/unknown")))
			.isEqualTo(Scope.ADMIN);
	}

	@Test
	void eachKeyGetsExactlyItsScopes() {
		for (Map.Entry<String, Scope> endpoint : EXPECTED_SCOPES.entrySet()) {
			String[] parts = endpoint.getKey().split(" ");
			String path = parts[1].replaceAll("\\{[^}]*}", UUID.randomUUID().toString());
			for (Map.Entry<Scope, String> key : SCOPED_KEYS.entrySet()) {
				RestTestClient.ResponseSpec reply = this.client.method(HttpMethod.valueOf(parts[0]))
					.uri(path)
					.header(ApiKeyFilter.API_KEY_HEADER, key.getValue())
					.exchange();
				if (key.getKey() == endpoint.getValue()) {
					int status = reply.expectBody(String.class).returnResult().getStatus().value();
					assertThat(status).as("%s with the %s key", endpoint.getKey(), key.getKey()).isNotIn(401, 403);
				}
				else {
					reply.expectStatus()
						.isForbidden()
						.expectHeader()
						.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
						.expectBody()
						.jsonPath("$.type")
						.isEqualTo(ProblemType.FORBIDDEN.uri().toString())
						.jsonPath("$.requiredScope")
						.isEqualTo(endpoint.getValue().id())
						.jsonPath("$.detail")
						.value((detail) -> assertThat(detail.toString())
							.contains("lacks the scope '" + endpoint.getValue().id() + "'")
							.doesNotContain(key.getValue()));
				}
			}
		}
	}

	@Test
	void thePredictionOnlyKeyCannotDeleteOrUpload() {
		this.client.delete()
			.uri("/api/v1/models/" + UUID.randomUUID())
			.header(HttpHeaders.AUTHORIZATION, "Bearer predict-key-0004")
			.exchange()
			.expectStatus()
			.isForbidden()
			.expectBody()
			.jsonPath("$.detail")
			.value((detail) -> assertThat(detail.toString()).contains("'predictor'").contains("'admin'"));
		this.client.post()
			.uri("/api/v1/backbones")
			.header(HttpHeaders.AUTHORIZATION, "Bearer predict-key-0004")
			.exchange()
			.expectStatus()
			.isForbidden();
	}

	@Test
	void theCallerIsKnownByNameToWhatFollows() {
		for (Map.Entry<String, String> key : Map.of(KEY, "key-1", "second-key-0002", "key-2", "admin-key-0006", "admin")
			.entrySet()) {
			this.client.get()
				.uri(ProbeRoutes.WHO)
				.header(ApiKeyFilter.API_KEY_HEADER, key.getKey())
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody(String.class)
				.isEqualTo(key.getValue() + " " + key.getValue() + " " + key.getValue());
		}
	}

	@Test
	void healthDetailsNeedAValidKey() {
		for (String path : List.of("/actuator/health", "/actuator/health/readiness")) {
			this.client.get()
				.uri(path)
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.status")
				.isEqualTo("UP")
				.jsonPath("$.components")
				.doesNotExist();
			this.client.get()
				.uri(path)
				.header(ApiKeyFilter.API_KEY_HEADER, "wrong-key")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.components")
				.doesNotExist();
			// any valid key, whatever its scopes
			this.client.get()
				.uri(path)
				.header(ApiKeyFilter.API_KEY_HEADER, "predict-key-0004")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.components.db.status")
				.isEqualTo("UP")
				.jsonPath("$.components.storage.details")
				.exists();
		}
	}

	private List<Route> allRoutes() {
		Set<Route> routes = new LinkedHashSet<>(apiRoutes());
		routes.addAll(FIXED);
		return new ArrayList<>(routes);
	}

	/** Every mapped route under /api, path variables filled with a random UUID. */
	private List<Route> apiRoutes() {
		List<Route> routes = new ArrayList<>();
		for (RequestMappingInfo info : this.mappings.getHandlerMethods().keySet()) {
			Set<RequestMethod> methods = info.getMethodsCondition().getMethods();
			for (String pattern : info.getPatternValues()) {
				if (!pattern.startsWith("/api/") && !pattern.equals("/api")) {
					continue;
				}
				String path = pattern.replaceAll("\\{[^}]*}", UUID.randomUUID().toString());
				if (methods.isEmpty()) {
					routes.add(new Route(HttpMethod.GET, path));
				}
				methods.forEach((method) -> routes.add(new Route(method.asHttpMethod(), path)));
			}
		}
		return routes;
	}

	record Route(HttpMethod method, String path) {

		@Override
		public String toString() {
			return this.method + " " + this.path;
		}

	}

	/** A route that exists on every branch, so "a right key is accepted" sees a 200. */
	@TestConfiguration(proxyBeanMethods = false)
	@Import(ProbeRoutes.Controller.class)
	static class ProbeRoutes {

		static final String PATH = "/api/v1/test-only/ping";

		static final String WHO = "/api/v1/test-only/who";

		@RestController
		static class Controller {

			@GetMapping(PATH)
			String ping() {
				return "ok";
			}

			/** The caller as request attribute, principal and logging MDC see it. */
			@GetMapping(WHO)
			String who(jakarta.servlet.http.HttpServletRequest request) {
				return ApiCaller.of(request).map(ApiCaller::name).orElse("?") + " "
						+ request.getUserPrincipal().getName() + " " + org.slf4j.MDC.get(ApiCaller.MDC_KEY);
			}

		}

	}

}
