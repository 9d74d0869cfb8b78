package com.acme.finetune.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.InferenceFixtures;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.web.ProblemType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static com.acme.finetune.support.TestApi.list;
import static com.acme.finetune.support.TestApi.map;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The registry end to end against real PostgreSQL: versions, aliases and their history,
 * guarded deletes, validation, and predictions by alias and version on real models.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryApiTests extends AbstractIntegrationTests {

	private static final String BASE = "/api/v1/registered-models/";

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	@Autowired
	MeterRegistry meters;

	Path work;

	/** Two real models (copies of one trained artifact) for predictions. */
	UUID servedA;

	UUID servedB;

	@BeforeAll
	void models() throws IOException {
		this.work = Files.createTempDirectory("registry-tests-");
		Path artifact = InferenceFixtures.colourModel();
		this.servedA = InferenceFixtures.register(this.catalog, artifact, this.work, InferenceFixtures.COLOURS, "a");
		this.servedB = InferenceFixtures.register(this.catalog, artifact, this.work, InferenceFixtures.COLOURS, "b");
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void versionsAndAliasesWithEveryMoveRecorded() throws IOException {
		String name = uniqueName("defects");
		UUID first = fakeModel();
		UUID second = fakeModel();

		Map<String, Object> v1 = this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("modelId", first, "aliases", List.of("staging"), "description", "Weld defects", "tags",
					Map.of("team", "qa")))
			.exchange()
			.expectStatus()
			.isCreated()
			.expectHeader()
			.valueEquals("Location", BASE + name + "/versions/1")
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(v1).containsEntry("name", name)
			.containsEntry("version", 1)
			.containsEntry("modelId", first.toString())
			.containsEntry("aliases", List.of("staging"))
			.containsEntry("source", "api")
			.containsEntry("registeredBy", "anonymous");
		assertThat(map(v1.get("metrics"))).containsEntry("valAccuracy", 0.75).doesNotContainKey("confusionMatrix");
		assertThat(map(v1.get("lineage"))).containsEntry("baseModel", "model:parent")
			.containsEntry("backbone", "resnet50-scratch");
		assertThat(map(map(v1.get("lineage")).get("dataset"))).containsEntry("sha256", "ab".repeat(32));

		// the second version takes staging over; production is created, moved, rolled
		// back
		register(name, second, List.of("staging")).expectStatus().isCreated();
		assertThat(moveAlias(name, "production", 1)).containsEntry("version", 1)
			.containsEntry("modelId", first.toString())
			.containsEntry("previousVersion", null)
			.containsEntry("updatedBy", "anonymous");
		Map<String, Object> moved = moveAlias(name, "production", 2);
		assertThat(moved).containsEntry("version", 2).containsEntry("previousVersion", 1);
		// a no-op move is not a move
		moveAlias(name, "production", 2);
		Map<String, Object> rolledBack = moveAlias(name, "production", (Integer) moved.get("previousVersion"));
		assertThat(rolledBack).containsEntry("version", 1).containsEntry("previousVersion", 2);

		List<Map<String, Object>> history = items(get(BASE + name + "/aliases/production/history"));
		assertThat(history).extracting((m) -> m.get("from")).containsExactly(2, 1, null);
		assertThat(history).extracting((m) -> m.get("to")).containsExactly(1, 2, 1);
		assertThat(history).allSatisfy((m) -> {
			assertThat(m.get("by")).isEqualTo("anonymous");
			assertThat(m.get("at")).isNotNull();
		});
		assertThat(items(get(BASE + name + "/aliases/staging/history"))).extracting((m) -> m.get("to"))
			.containsExactly(2, 1);

		Map<String, Object> model = get(BASE + name);
		assertThat(model).containsEntry("latestVersion", 2)
			.containsEntry("description", "Weld defects")
			.containsEntry("tags", Map.of("team", "qa"));
		assertThat(list(model.get("versions"))).extracting((v) -> v.get("version")).containsExactly(2, 1);
		assertThat(list(model.get("versions"))).extracting((v) -> v.get("aliases"))
			.containsExactly(List.of("staging"), List.of("production"));
		assertThat(list(model.get("aliases"))).extracting((a) -> a.get("alias") + "=" + a.get("version"))
			.containsExactly("production=1", "staging=2");
		assertThat(get(BASE + name + "/versions/2")).containsEntry("modelId", second.toString());
		assertThat(items(get(BASE + name + "/versions"))).extracting((v) -> v.get("version")).containsExactly(2, 1);
		assertThat(items(get("/api/v1/registered-models?size=100"))).filteredOn((m) -> name.equals(m.get("name")))
			.singleElement()
			.satisfies((m) -> assertThat(m).containsEntry("versionCount", 2).containsEntry("latestVersion", 2));

		// models carry their registrations and lineage
		Map<String, Object> secondModel = get("/api/v1/models/" + second);
		assertThat(list(secondModel.get("registered"))).containsExactly(Map.of("name", name, "version", 2));
		assertThat(secondModel).containsEntry("baseModel", "model:parent");
		assertThat(map(secondModel.get("spec"))).containsEntry("device", "cpu");

		// deleting an alias is a recorded move too
		this.client.delete().uri(BASE + name + "/aliases/staging").exchange().expectStatus().isNoContent();
		assertThat(items(get(BASE + name + "/aliases/staging/history")).get(0)).containsEntry("from", 2)
			.containsEntry("to", null);
		this.client.get().uri(BASE + name + "/aliases/staging").exchange().expectStatus().isNotFound();
	}

	@Test
	void predictionsByAliasAndByVersionSayWhichVersionAnswered() {
		String name = uniqueName("served");
		register(name, this.servedA, List.of("production")).expectStatus().isCreated();
		register(name, this.servedB, List.of()).expectStatus().isCreated();
		double before = count(name, "production", "1");

		Map<String, Object> byAlias = predict(BASE + name + "/aliases/production/predictions", HttpStatus.OK);
		assertThat(byAlias).containsEntry("name", name)
			.containsEntry("version", 1)
			.containsEntry("alias", "production")
			.containsEntry("modelId", this.servedA.toString())
			.containsKeys("predictions", "latencyMs");
		assertThat(list(byAlias.get("predictions")).get(0).get("file")).isEqualTo("red.png");
		assertThat(count(name, "production", "1")).isEqualTo(before + 1);

		Map<String, Object> byVersion = predict(BASE + name + "/versions/2/predictions", HttpStatus.OK);
		assertThat(byVersion).containsEntry("version", 2)
			.containsEntry("alias", null)
			.containsEntry("modelId", this.servedB.toString());
		assertThat(count(name, "", "2")).isPositive();

		// the move takes effect for the very next request
		moveAlias(name, "production", 2);
		assertThat(predict(BASE + name + "/aliases/production/predictions", HttpStatus.OK)).containsEntry("version", 2)
			.containsEntry("modelId", this.servedB.toString());

		assertProblem(predictExchange(BASE + name + "/aliases/canary/predictions"), HttpStatus.NOT_FOUND,
				ProblemType.NOT_FOUND);
		assertProblem(predictExchange(BASE + uniqueName("nobody") + "/aliases/production/predictions"),
				HttpStatus.NOT_FOUND, ProblemType.NOT_FOUND);
		assertProblem(predictExchange(BASE + name + "/versions/9/predictions"), HttpStatus.NOT_FOUND,
				ProblemType.NOT_FOUND);
		assertProblem(predictExchange(BASE + "Not_A_Label/aliases/production/predictions"), HttpStatus.BAD_REQUEST,
				ProblemType.VALIDATION);
		assertProblem(predictExchange(BASE + name + "/versions/two/predictions"), HttpStatus.BAD_REQUEST,
				ProblemType.VALIDATION);
	}

	/**
	 * Alias moves while requests run: every answer names the version whose model answered
	 * it (a request is resolved once, at its start, and finishes there), and both
	 * versions answer.
	 */
	@Test
	void requestsRacingAliasMovesStayOnTheVersionTheyStartedWith() throws Exception {
		String name = uniqueName("racing");
		register(name, this.servedA, List.of("live")).expectStatus().isCreated();
		register(name, this.servedB, List.of()).expectStatus().isCreated();
		Map<Integer, String> modelOf = Map.of(1, this.servedA.toString(), 2, this.servedB.toString());
		ExecutorService pool = Executors.newFixedThreadPool(4);
		AtomicBoolean moving = new AtomicBoolean(true);
		try {
			Future<?> mover = pool.submit(() -> {
				for (int i = 0; moving.get() && i < 40; i++) {
					moveAlias(name, "live", (i % 2 == 0) ? 2 : 1);
				}
				return null;
			});
			List<Future<Map<String, Object>>> answers = new ArrayList<>();
			for (int i = 0; i < 24; i++) {
				answers.add(pool.submit(() -> predict(BASE + name + "/aliases/live/predictions", HttpStatus.OK)));
			}
			List<Integer> versions = new ArrayList<>();
			for (Future<Map<String, Object>> answer : answers) {
				Map<String, Object> reply = answer.get();
				int version = (Integer) reply.get("version");
				versions.add(version);
				assertThat(reply.get("modelId")).as("version %s", version).isEqualTo(modelOf.get(version));
			}
			moving.set(false);
			mover.get();
			assertThat(versions).containsAnyOf(1, 2);
		}
		finally {
			moving.set(false);
			pool.shutdownNow();
		}
	}

	@Test
	void concurrentFirstRegistrationsOfANewNameGetDistinctVersions() throws Exception {
		String name = uniqueName("crowd");
		List<UUID> models = new ArrayList<>();
		for (int i = 0; i < 6; i++) {
			models.add(fakeModel());
		}
		ExecutorService pool = Executors.newFixedThreadPool(6);
		try {
			List<Future<Map<String, Object>>> replies = new ArrayList<>();
			for (UUID model : models) {
				replies
					.add(pool.submit(() -> register(name, model, List.of("latest-" + model.toString().substring(0, 4)))
						.expectStatus()
						.isCreated()
						.expectBody(TestApi.JSON_OBJECT)
						.returnResult()
						.getResponseBody()));
			}
			List<Object> versions = new ArrayList<>();
			for (Future<Map<String, Object>> reply : replies) {
				versions.add(reply.get().get("version"));
			}
			assertThat(versions).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6);
		}
		finally {
			pool.shutdownNow();
		}
		assertThat(get(BASE + name)).containsEntry("latestVersion", 6);
	}

	@Test
	void deletesAreRefusedWhileAnAliasPointsThere() throws IOException {
		String name = uniqueName("guarded");
		UUID aliased = fakeModel();
		UUID plain = fakeModel();
		register(name, aliased, List.of("production")).expectStatus().isCreated();
		register(name, plain, List.of()).expectStatus().isCreated();

		assertProblem(this.client.delete().uri("/api/v1/models/" + aliased).exchange(), HttpStatus.CONFLICT,
				ProblemType.ALIASED_MODEL);
		assertProblem(this.client.delete().uri(BASE + name + "/versions/1").exchange(), HttpStatus.CONFLICT,
				ProblemType.ALIASED_MODEL);
		assertProblem(this.client.delete().uri(BASE + name).exchange(), HttpStatus.CONFLICT, ProblemType.ALIASED_MODEL);
		get("/api/v1/models/" + aliased);

		// an unaliased version goes with its model; numbers are never reused
		this.client.delete().uri("/api/v1/models/" + plain).exchange().expectStatus().isNoContent();
		this.client.get().uri(BASE + name + "/versions/2").exchange().expectStatus().isNotFound();
		assertThat(register(name, fakeModel(), List.of()).expectStatus()
			.isCreated()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody()).containsEntry("version", 3);
		this.client.delete().uri(BASE + name + "/versions/3").exchange().expectStatus().isNoContent();

		// force: the name, its versions and aliases go, the models stay
		this.client.delete().uri(BASE + name + "?force=true").exchange().expectStatus().isNoContent();
		this.client.get().uri(BASE + name).exchange().expectStatus().isNotFound();
		assertThat(list(get("/api/v1/models/" + aliased).get("registered"))).isEmpty();
		this.client.delete().uri("/api/v1/models/" + aliased).exchange().expectStatus().isNoContent();
	}

	@Test
	void namesAliasesAndBodiesAreValidated() throws IOException {
		UUID model = fakeModel();
		for (String bad : List.of("Defects", "under_score", "-lead", "trail-", "a".repeat(64), "dots.no")) {
			assertProblem(register(bad, model, List.of()), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		}
		String name = uniqueName("valid");
		assertProblem(register(name, model, List.of("Prod")), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(register(name, model, List.of("a", "a")), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(register(name, UUID.randomUUID(), List.of()), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("aliases", List.of()))
			.exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("modelId", model, "colour", "red"))
			.exchange(), HttpStatus.BAD_REQUEST, null);
		// nothing was created by the refused requests
		this.client.get().uri(BASE + name).exchange().expectStatus().isNotFound();

		register(name, model, List.of()).expectStatus().isCreated();
		assertProblem(register(name, model, List.of()), HttpStatus.CONFLICT, ProblemType.CONFLICT);
		assertProblem(this.client.put()
			.uri(BASE + name + "/aliases/BAD")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 1))
			.exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.put()
			.uri(BASE + name + "/aliases/prod")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 7))
			.exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.put()
			.uri(BASE + name + "/aliases/prod")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 0))
			.exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.put()
			.uri(BASE + uniqueName("missing") + "/aliases/prod")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 1))
			.exchange(), HttpStatus.NOT_FOUND, ProblemType.NOT_FOUND);
		assertProblem(this.client.get().uri(BASE + "UPPER").exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertProblem(this.client.get().uri("/api/v1/registered-models?sort=colour").exchange(), HttpStatus.BAD_REQUEST,
				ProblemType.VALIDATION);
	}

	@Test
	void patchMergesDescriptionAndTags() throws IOException {
		String name = uniqueName("patched");
		this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("modelId", fakeModel(), "tags", Map.of("team", "qa", "owner", "ann")))
			.exchange()
			.expectStatus()
			.isCreated();
		Map<String, Object> patched = this.client.patch()
			.uri(BASE + name)
			.contentType(MediaType.valueOf("application/merge-patch+json"))
			.body("{\"description\": \"New\", \"tags\": {\"owner\": null, \"stage\": \"beta\"}}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(patched).containsEntry("description", "New")
			.containsEntry("tags", Map.of("team", "qa", "stage", "beta"));
		assertProblem(this.client.patch()
			.uri(BASE + name)
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"name\": \"renamed\", \"tags\": {\"team\": 3}}")
			.exchange(), HttpStatus.BAD_REQUEST, ProblemType.VALIDATION);
		assertThat(get(BASE + name)).containsEntry("description", "New");
	}

	@Test
	void idempotencyKeyReturnsTheFirstVersion() throws IOException {
		String name = uniqueName("idem");
		UUID model = fakeModel();
		Map<String, Object> body = Map.of("modelId", model, "aliases", List.of("staging"));
		Map<String, Object> first = registerWithKey(name, body, "key-1").expectStatus()
			.isCreated()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		Map<String, Object> again = registerWithKey(name, body, "key-1").expectStatus()
			.isCreated()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		assertThat(again).containsEntry("version", first.get("version"));
		assertThat(items(get(BASE + name + "/versions"))).hasSize(1);
		assertProblem(registerWithKey(name, Map.of("modelId", fakeModel()), "key-1"), HttpStatus.UNPROCESSABLE_CONTENT,
				ProblemType.IDEMPOTENCY_KEY_REUSED);
	}

	@Test
	void openApiDescribesTheRegistryWithItsProblems() {
		Map<String, Object> docs = get("/v3/api-docs");
		Map<String, Object> paths = map(docs.get("paths"));
		assertThat(paths).containsKeys("/api/v1/registered-models", "/api/v1/registered-models/{name}",
				"/api/v1/registered-models/{name}/versions", "/api/v1/registered-models/{name}/aliases/{alias}",
				"/api/v1/registered-models/{name}/aliases/{alias}/history",
				"/api/v1/registered-models/{name}/aliases/{alias}/predictions",
				"/api/v1/registered-models/{name}/versions/{version}/predictions", "/api/v1/models/{id}/export");
		Map<String, Object> put = map(map(paths.get("/api/v1/registered-models/{name}/aliases/{alias}")).get("put"));
		assertThat(map(put.get("responses"))).containsKeys("200", "400", "404");
		assertThat(
				map(map(map(map(put.get("responses")).get("200")).get("content")).get("application/json")).get("schema")
					.toString())
			.contains("AliasView");
		Map<String, Object> predict = map(
				map(paths.get("/api/v1/registered-models/{name}/aliases/{alias}/predictions")).get("post"));
		assertThat(map(predict.get("responses"))).containsKeys("200", "400", "404", "503");
		assertThat(map(map(docs.get("components")).get("schemas")).get("RoutedPrediction").toString())
			.contains("modelId", "predictions", "latencyMs", "name", "version", "alias");
	}

	// ---------------------------------------------------------------------------------

	private static String uniqueName(String prefix) {
		return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
	}

	/** A model row with lineage whose artifact is never loaded. */
	private UUID fakeModel() throws IOException {
		Path dir = Files.createDirectories(this.work.resolve("fake-" + UUID.randomUUID()));
		Files.writeString(dir.resolve("placeholder"), "not a network");
		return this.catalog
			.register(new NewModel(UUID.randomUUID(), "fake", List.of("a", "b"), "resnet50-scratch",
					Map.of("upTo", "none", "batchNorm", "train"), 32,
					Map.of("valAccuracy", 0.75, "confusionMatrix", Map.of("labels", List.of("a", "b"))), 1, 1, dir,
					new NewModel.Lineage(UUID.randomUUID(), "ab".repeat(32), "model:parent", "{\"device\": \"cpu\"}")))
			.id();
	}

	private RestTestClient.ResponseSpec register(String name, UUID model, List<String> aliases) {
		return this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("modelId", model, "aliases", aliases))
			.exchange();
	}

	private RestTestClient.ResponseSpec registerWithKey(String name, Map<String, Object> body, String key) {
		return this.client.post()
			.uri(BASE + name + "/versions")
			.contentType(MediaType.APPLICATION_JSON)
			.header("Idempotency-Key", key)
			.body(body)
			.exchange();
	}

	private Map<String, Object> moveAlias(String name, String alias, int version) {
		return this.client.put()
			.uri(BASE + name + "/aliases/" + alias)
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", version))
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
	}

	private RestTestClient.ResponseSpec predictExchange(String path) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("image",
				TestApi.file(InferenceFixtures.png(InferenceFixtures.colour(0, 40, 40, new Random(3))), "red.png"));
		return this.client.post().uri(path).contentType(MediaType.MULTIPART_FORM_DATA).body(parts).exchange();
	}

	private Map<String, Object> predict(String path, HttpStatus status) {
		return predictExchange(path).expectStatus()
			.isEqualTo(status)
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
	}

	private double count(String name, String alias, String version) {
		Counter counter = this.meters.find("finetune.registry.predictions")
			.tags("name", name, "alias", alias, "version", version)
			.counter();
		return (counter != null) ? counter.count() : 0;
	}

	private Map<String, Object> get(String path) {
		return TestApi.get(this.client, path);
	}

	private static void assertProblem(RestTestClient.ResponseSpec response, HttpStatus status, ProblemType type) {
		response.expectStatus()
			.isEqualTo(status)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
		if (type != null) {
			response.expectBody().jsonPath("$.type").isEqualTo(type.uri().toString());
		}
	}

	private static List<Map<String, Object>> items(Map<String, Object> page) {
		return list(page.get("items"));
	}

}
