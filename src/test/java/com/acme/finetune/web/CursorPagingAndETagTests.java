package com.acme.finetune.web;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.support.TestApi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads that scale, through HTTP on real PostgreSQL: cursor pages that neither skip nor
 * repeat while the list changes, tokens that cannot be bent, and conditional requests
 * (304 on an unchanged read, 412 on a write that lost the race).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CursorPagingAndETagTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	Path work;

	@BeforeAll
	void workDir() throws IOException {
		this.work = Files.createTempDirectory("paging-tests-");
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void cursorPagesNeitherSkipNorRepeatWhileTheListChanges() throws IOException {
		List<UUID> mine = new ArrayList<>();
		for (int i = 0; i < 7; i++) {
			mine.add(fakeModel());
		}
		List<String> seen = new ArrayList<>();
		List<Instant> created = new ArrayList<>();
		Map<String, Object> first = get("/api/v1/models?size=3");
		assertThat(first.get("page")).isEqualTo(0);
		collect(first, seen, created);
		String token = (String) first.get("nextPageToken");
		assertThat(token).isNotBlank();
		// the list changes between pages: a new model at the front, one already read
		// deleted
		UUID late = fakeModel();
		this.client.delete().uri("/api/v1/models/" + seen.get(0)).exchange().expectStatus().isNoContent();
		int pages = 1;
		while (token != null) {
			Map<String, Object> page = get("/api/v1/models?size=3&pageToken=" + token);
			collect(page, seen, created);
			token = (String) page.get("nextPageToken");
			assertThat(++pages).isLessThan(1000);
		}
		assertThat(new HashSet<>(seen)).hasSameSizeAs(seen);
		assertThat(seen).doesNotContain(late.toString());
		assertThat(seen).containsAll(mine.stream().map(UUID::toString).toList());
		for (int i = 1; i < created.size(); i++) {
			assertThat(created.get(i)).isBeforeOrEqualTo(created.get(i - 1));
		}
		// ascending order works the same way and starts with the oldest
		Map<String, Object> oldest = get("/api/v1/models?size=2&sort=createdAt,asc");
		Map<String, Object> next = get(
				"/api/v1/models?size=2&sort=createdAt,asc&pageToken=" + oldest.get("nextPageToken"));
		List<Instant> ascending = new ArrayList<>();
		collect(oldest, new ArrayList<>(), ascending);
		collect(next, new ArrayList<>(), ascending);
		for (int i = 1; i < ascending.size(); i++) {
			assertThat(ascending.get(i)).isAfterOrEqualTo(ascending.get(i - 1));
		}
	}

	@Test
	void offsetPagesCarryATokenToContinueByCursor() throws IOException {
		fakeModel();
		fakeModel();
		fakeModel();
		Map<String, Object> byOffset = get("/api/v1/models?size=1&page=1");
		assertThat(byOffset.get("page")).isEqualTo(1);
		Map<String, Object> byCursor = get("/api/v1/models?size=1&pageToken=" + byOffset.get("nextPageToken"));
		Map<String, Object> third = get("/api/v1/models?size=1&page=2");
		assertThat(ids(byCursor)).isEqualTo(ids(third));
		// orders a cursor cannot follow (nullable or changing fields) have no token
		assertThat(get("/api/v1/models?size=1&sort=name").get("nextPageToken")).isNull();
	}

	@Test
	void everyListHandsOutTokensThatWork() {
		Map<String, Object> backbones = get("/api/v1/backbones?size=1");
		Map<String, Object> second = get("/api/v1/backbones?size=1&pageToken=" + backbones.get("nextPageToken"));
		assertThat(ids(backbones)).containsExactly("resnet50-imagenet");
		assertThat(ids(second)).containsExactly("resnet50-scratch");
		for (String list : List.of("/api/v1/datasets", "/api/v1/jobs", "/api/v1/registered-models")) {
			Map<String, Object> page = get(list + "?size=1");
			if (((Number) page.get("totalItems")).longValue() > 1) {
				Map<String, Object> next = get(list + "?size=1&pageToken=" + page.get("nextPageToken"));
				assertThat(next.get("items")).isNotEqualTo(page.get("items"));
			}
		}
	}

	@Test
	void alteredForeignOrMisusedTokensAreValidationProblems() throws IOException {
		fakeModel();
		fakeModel();
		String token = (String) get("/api/v1/models?size=1").get("nextPageToken");
		char last = token.charAt(token.length() - 1);
		String altered = token.substring(0, token.length() - 1) + ((last == 'A') ? 'B' : 'A');
		assertPageTokenRefused("/api/v1/models?pageToken=" + altered, "pageToken");
		assertPageTokenRefused("/api/v1/models?pageToken=not-a-token", "pageToken");
		assertPageTokenRefused("/api/v1/models?pageToken=" + "x".repeat(5000), "pageToken");
		// another list, another filter, another sort, or a page number beside it
		assertPageTokenRefused("/api/v1/datasets?pageToken=" + token, "pageToken");
		String queued = (String) get("/api/v1/jobs?size=1&status=QUEUED").get("nextPageToken");
		String jobs = (queued != null) ? queued : token;
		assertPageTokenRefused("/api/v1/jobs?status=FAILED&pageToken=" + jobs, "pageToken");
		assertPageTokenRefused("/api/v1/models?sort=createdAt,asc&pageToken=" + token, "pageToken");
		assertPageTokenRefused("/api/v1/models?page=2&pageToken=" + token, "page");
		assertPageTokenRefused("/api/v1/models?sort=name&pageToken=" + token, "sort");
	}

	@Test
	void unchangedReadsAreNotModifiedAndCachesRevalidate() throws IOException {
		UUID model = fakeModel();
		EntityExchangeResult<byte[]> read = this.client.get()
			.uri("/api/v1/models/" + model)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.cacheControl(org.springframework.http.CacheControl.noCache().cachePrivate())
			.expectBody()
			.returnResult();
		String etag = read.getResponseHeaders().getETag();
		assertThat(etag).matches("\"[A-Za-z0-9_-]+\"");
		this.client.get()
			.uri("/api/v1/models/" + model)
			.header(HttpHeaders.IF_NONE_MATCH, etag)
			.exchange()
			.expectStatus()
			.isNotModified()
			.expectBody()
			.isEmpty();
		this.client.get()
			.uri("/api/v1/models/" + model)
			.header(HttpHeaders.IF_NONE_MATCH, "\"something-else\"")
			.exchange()
			.expectStatus()
			.isOk();
		// lists too: a poller pays for a body only when something changed
		String listTag = this.client.get()
			.uri("/api/v1/backbones")
			.exchange()
			.expectStatus()
			.isOk()
			.returnResult(String.class)
			.getResponseHeaders()
			.getETag();
		this.client.get()
			.uri("/api/v1/backbones")
			.header(HttpHeaders.IF_NONE_MATCH, listTag)
			.exchange()
			.expectStatus()
			.isNotModified();
	}

	@Test
	void aDeleteWithAStaleIfMatchIsRefusedAndOneWithTheCurrentTagWorks() throws IOException {
		UUID model = fakeModel();
		String etag = this.client.get()
			.uri("/api/v1/models/" + model)
			.exchange()
			.returnResult(String.class)
			.getResponseHeaders()
			.getETag();
		this.client.delete()
			.uri("/api/v1/models/" + model)
			.header(HttpHeaders.IF_MATCH, "\"stale\"")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.PRECONDITION_FAILED)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.PRECONDITION_FAILED.uri().toString())
			.jsonPath("$.currentETag")
			.isEqualTo(etag);
		this.client.get().uri("/api/v1/models/" + model).exchange().expectStatus().isOk();
		this.client.delete()
			.uri("/api/v1/models/" + model)
			.header(HttpHeaders.IF_MATCH, etag)
			.exchange()
			.expectStatus()
			.isNoContent();
		this.client.get().uri("/api/v1/models/" + model).exchange().expectStatus().isNotFound();
	}

	@Test
	void twoAliasMovesFromTheSameReadCannotBothWin() throws IOException {
		String name = "paging-" + UUID.randomUUID().toString().substring(0, 8);
		for (int i = 0; i < 3; i++) {
			this.client.post()
				.uri("/api/v1/registered-models/" + name + "/versions")
				.contentType(MediaType.APPLICATION_JSON)
				.body(Map.of("modelId", fakeModel(), "aliases", (i == 0) ? List.of("prod") : List.of()))
				.exchange()
				.expectStatus()
				.isCreated();
		}
		String alias = "/api/v1/registered-models/" + name + "/aliases/prod";
		String read = this.client.get().uri(alias).exchange().returnResult(String.class).getResponseHeaders().getETag();
		// operator A moves prod to 2 with the tag they read
		String moved = this.client.put()
			.uri(alias)
			.contentType(MediaType.APPLICATION_JSON)
			.header(HttpHeaders.IF_MATCH, read)
			.body(Map.of("version", 2))
			.exchange()
			.expectStatus()
			.isOk()
			.returnResult(String.class)
			.getResponseHeaders()
			.getETag();
		assertThat(moved).isNotEqualTo(read);
		// operator B read prod at the same time and would overwrite A's move
		this.client.put()
			.uri(alias)
			.contentType(MediaType.APPLICATION_JSON)
			.header(HttpHeaders.IF_MATCH, read)
			.body(Map.of("version", 3))
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.PRECONDITION_FAILED)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.PRECONDITION_FAILED.uri().toString());
		assertThat(get(alias).get("version")).isEqualTo(2);
		// If-None-Match: * creates only
		this.client.put()
			.uri(alias)
			.contentType(MediaType.APPLICATION_JSON)
			.header(HttpHeaders.IF_NONE_MATCH, "*")
			.body(Map.of("version", 3))
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.PRECONDITION_FAILED);
		this.client.put()
			.uri("/api/v1/registered-models/" + name + "/aliases/staging")
			.contentType(MediaType.APPLICATION_JSON)
			.header(HttpHeaders.IF_NONE_MATCH, "*")
			.body(Map.of("version", 3))
			.exchange()
			.expectStatus()
			.isOk();
		// without If-Match it works as before; a stale tag on delete is refused
		this.client.put()
			.uri(alias)
			.contentType(MediaType.APPLICATION_JSON)
			.body(Map.of("version", 1))
			.exchange()
			.expectStatus()
			.isOk();
		this.client.delete()
			.uri(alias)
			.header(HttpHeaders.IF_MATCH, moved)
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.PRECONDITION_FAILED);
		// the alias history pages by cursor too
		Map<String, Object> history = get(alias + "/history?size=1");
		Map<String, Object> older = get(alias + "/history?size=1&pageToken=" + history.get("nextPageToken"));
		assertThat(older.get("items")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.LIST)
			.hasSize(1)
			.isNotEqualTo(history.get("items"));
	}

	private void assertPageTokenRefused(String uri, String field) {
		this.client.get()
			.uri(uri)
			.exchange()
			.expectStatus()
			.isBadRequest()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.VALIDATION.uri().toString())
			.jsonPath("$.errors[?(@.field == '" + field + "')]")
			.exists();
	}

	private Map<String, Object> get(String uri) {
		return this.client.get()
			.uri(uri)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(TestApi.JSON_OBJECT)
			.returnResult()
			.getResponseBody();
	}

	@SuppressWarnings("unchecked")
	private static List<String> ids(Map<String, Object> page) {
		return ((List<Map<String, Object>>) page.get("items")).stream().map((i) -> (String) i.get("id")).toList();
	}

	@SuppressWarnings("unchecked")
	private static void collect(Map<String, Object> page, List<String> ids, List<Instant> created) {
		for (Map<String, Object> item : (List<Map<String, Object>>) page.get("items")) {
			ids.add((String) item.get("id"));
			created.add(Instant.parse((String) item.get("createdAt")));
		}
	}

	/** A model row whose artifact is never loaded. */
	private UUID fakeModel() throws IOException {
		Path dir = Files.createDirectories(this.work.resolve("fake-" + UUID.randomUUID()));
		Files.writeString(dir.resolve("placeholder"), "not a network");
		return this.catalog
			.register(new NewModel(UUID.randomUUID(), "fake", List.of("a", "b"), "resnet50-scratch",
					Map.of("upTo", "none", "batchNorm", "train"), 32, Map.of("valAccuracy", 0.75), 1, 1, dir))
			.id();
	}

}
