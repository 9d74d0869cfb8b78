package com.acme.finetune.job;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.security.MessageDigest;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.acme.finetune.AbstractApiNodeTests;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Job submission over HTTP: callback URLs that point inside the network are refused, and
 * deleting a dataset or base model cannot slip between a submission's checks and its
 * insert. The races are made deterministic by holding a PostgreSQL table lock that one
 * side needs, and watching {@code pg_blocking_pids} to see who waits for whom.
 */
class JobSubmissionTests extends AbstractApiNodeTests {

	@Autowired
	RestTestClient client;

	@Autowired
	DataSource dataSource;

	@Autowired
	JdbcClient jdbc;

	@Autowired
	ArtifactStore store;

	@Autowired
	ObjectMapper json;

	private final ExecutorService threads = Executors.newCachedThreadPool();

	@AfterEach
	void stopThreads() {
		this.threads.shutdownNow();
	}

	@ParameterizedTest
	@ValueSource(strings = { "http://127.0.0.1/hook", "http://localhost:8080/hook", "http://[::1]/hook",
			"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook", "http://172.16.0.1/hook",
			"http://192.168.0.1/hook", "http://[fd00::1]/hook", "http://100.64.0.1/hook", "http://224.0.0.1/hook",
			"http://0.0.0.0/hook", "http://[::ffff:10.0.0.1]/hook", "http://[::ffff:169.254.169.254]/hook",
			"http://user:password@example.com/hook", "ftp://example.com/hook" })
	void callbackUrlsIntoTheNetworkAreRefusedAtSubmission(String url) {
		Map<String, Object> spec = Map.of("datasetId", UUID.randomUUID().toString(), "baseModel", "resnet50-scratch",
				"callbackUrl", url);
		for (String path : List.of("/api/v1/jobs", "/api/v1/jobs:validate")) {
			EntityExchangeResult<byte[]> result = post(path, spec);
			assertThat(result.getStatus().value()).isEqualTo(400);
			JsonNode problem = this.json.readTree(result.getResponseBody());
			assertThat(problem.get("type").asString()).isEqualTo(ProblemType.VALIDATION.uri().toString());
			assertThat(problem.get("errors")).singleElement().satisfies((error) -> {
				assertThat(error.get("field").asString()).isEqualTo("callbackUrl");
				assertThat(error.get("message").asString()).isNotBlank();
			});
		}
	}

	@Test
	void aDeleteThatComesDuringASubmissionWaitsForTheJobAndIsRefused() throws Exception {
		String dataset = dataset();
		try (Connection lock = tableLock("jobs")) {
			// the submission checks the dataset, locks it, and then waits to insert its
			// job
			Future<EntityExchangeResult<byte[]>> submit = async(() -> post("/api/v1/jobs", job(dataset)));
			int submitter = awaitBlockedBy(pid(lock));
			Future<EntityExchangeResult<byte[]>> delete = async(() -> delete("/api/v1/datasets/" + dataset));
			// the delete waits for the submission, instead of deleting under it
			awaitBlockedBy(submitter);
			lock.commit();
			assertThat(submit.get(30, TimeUnit.SECONDS).getStatus().value()).isEqualTo(202);
			EntityExchangeResult<byte[]> deleted = delete.get(30, TimeUnit.SECONDS);
			assertThat(deleted.getStatus().value()).isEqualTo(409);
			assertThat(this.json.readTree(deleted.getResponseBody()).get("type").asString())
				.isEqualTo(ProblemType.DATASET_IN_USE.uri().toString());
		}
		assertThat(exists("dataset", UUID.fromString(dataset))).isTrue();
	}

	@Test
	void aSubmissionThatComesDuringADeleteWaitsAndFindsTheDatasetGone() throws Exception {
		String dataset = dataset();
		try (Connection lock = tableLock("dataset_file")) {
			// the delete locks the dataset, checks it is unused, then waits to delete
			// rows
			Future<EntityExchangeResult<byte[]>> delete = async(() -> delete("/api/v1/datasets/" + dataset));
			int deleter = awaitBlockedBy(pid(lock));
			Future<EntityExchangeResult<byte[]>> submit = async(() -> post("/api/v1/jobs", job(dataset)));
			awaitBlockedBy(deleter);
			lock.commit();
			assertThat(delete.get(30, TimeUnit.SECONDS).getStatus().value()).isEqualTo(204);
			EntityExchangeResult<byte[]> submitted = submit.get(30, TimeUnit.SECONDS);
			assertThat(submitted.getStatus().value()).isEqualTo(400);
			assertThat(this.json.readTree(submitted.getResponseBody()).get("errors").get(0).get("field").asString())
				.isEqualTo("datasetId");
		}
		assertThat(this.jdbc.sql("select count(*) from jobs where dataset_id = ?")
			.param(UUID.fromString(dataset))
			.query(Integer.class)
			.single()).isZero();
	}

	@ParameterizedTest
	@ValueSource(strings = { "model", "backbone" })
	void aBaseModelDeletedDuringASubmissionIsRefused(String kind) throws Exception {
		String dataset = dataset();
		String baseModel;
		String deletePath;
		if (kind.equals("model")) {
			UUID model = insertModel();
			baseModel = "model:" + model;
			deletePath = "/api/v1/models/" + model;
		}
		else {
			String backbone = insertBackbone();
			baseModel = backbone;
			deletePath = "/api/v1/backbones/" + backbone;
		}
		Map<String, Object> spec = Map.of("datasetId", dataset, "baseModel", baseModel, "freeze",
				Map.of("upTo", "none"), "hyperparameters", Map.of("epochs", 1, "imageSize", 32, "batchSize", 4));
		try (Connection lock = tableLock("jobs")) {
			Future<EntityExchangeResult<byte[]>> submit = async(() -> post("/api/v1/jobs", spec));
			int submitter = awaitBlockedBy(pid(lock));
			Future<EntityExchangeResult<byte[]>> delete = async(() -> delete(deletePath));
			awaitBlockedBy(submitter);
			lock.commit();
			assertThat(submit.get(30, TimeUnit.SECONDS).getStatus().value()).isEqualTo(202);
			EntityExchangeResult<byte[]> deleted = delete.get(30, TimeUnit.SECONDS);
			assertThat(deleted.getStatus().value()).isEqualTo(409);
			assertThat(this.json.readTree(deleted.getResponseBody()).get("type").asString())
				.isEqualTo(ProblemType.BASE_MODEL_IN_USE.uri().toString());
		}
	}

	private static final AtomicInteger DATASETS = new AtomicInteger();

	private String dataset() {
		return TestApi.uploadDataset(this.client, TestImages.redBlueDataset(2 + DATASETS.incrementAndGet() % 3, 32),
				"0.5");
	}

	private static Map<String, Object> job(String dataset) {
		return Map.of("datasetId", dataset, "baseModel", "resnet50-scratch", "hyperparameters",
				Map.of("epochs", 1, "imageSize", 32, "batchSize", 4));
	}

	/** A model row, as a finished job leaves it (its files are not needed here). */
	private UUID insertModel() {
		UUID id = UUID.randomUUID();
		this.jdbc.sql("""
				insert into models (id, job_id, name, labels, backbone, freeze_spec, image_size, metrics,
				  total_parameters, trainable_parameters, size_bytes, artifact_path, created_at)
				values (?, ?, 'base', '["blue","red"]', 'resnet50-scratch', '{}', 32, '{}', 1, 1, 1, ?, ?)""")
			.params(id, UUID.randomUUID(), "models/" + id, Timestamp.from(Instant.now()))
			.update();
		return id;
	}

	/**
	 * An uploaded backbone's row and file, recorded as accepted by the sandbox's
	 * inspection (its contents are not run here).
	 */
	private String insertBackbone() throws Exception {
		String id = UUID.randomUUID().toString();
		Path file = this.store.area("backbones", id).resolve("backbone.pt");
		Files.createDirectories(file.getParent());
		byte[] bytes = { 'P', 'K', 3, 4 };
		Files.write(file, bytes);
		String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
		this.jdbc.sql("""
				insert into backbones (id, name, sha256, feature_dim, input_size, stages, size_bytes, created_at,
				  inspected_sha256, parameter_totals, inspected_at)
				values (?, 'tiny', ?, 8, 32, '', 4, ?, ?, '{"head": 0}', ?)""")
			.params(id, sha256, Timestamp.from(Instant.now()), sha256, Timestamp.from(Instant.now()))
			.update();
		return id;
	}

	/** A transaction holding a lock that keeps others from writing the table. */
	private Connection tableLock(String table) throws Exception {
		Connection connection = this.dataSource.getConnection();
		connection.setAutoCommit(false);
		try (Statement statement = connection.createStatement()) {
			statement.execute("lock table " + table + " in share mode");
		}
		// closed without a commit, the pool rolls it back: the lock goes either way
		return connection;
	}

	private static int pid(Connection connection) throws Exception {
		try (Statement statement = connection.createStatement();
				ResultSet rs = statement.executeQuery("select pg_backend_pid()")) {
			rs.next();
			return rs.getInt(1);
		}
	}

	/** The backend that waits for a lock the given backend holds. */
	private int awaitBlockedBy(int holder) {
		int[] waiter = new int[1];
		await("a request waiting for a lock held by backend " + holder).atMost(Duration.ofSeconds(20))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> {
				try (Connection connection = this.dataSource.getConnection();
						PreparedStatement query = connection.prepareStatement(
								"select pid from pg_stat_activity where ? = any(pg_blocking_pids(pid))")) {
					query.setInt(1, holder);
					try (ResultSet rs = query.executeQuery()) {
						if (rs.next()) {
							waiter[0] = rs.getInt(1);
							return true;
						}
						return false;
					}
				}
			});
		return waiter[0];
	}

	private boolean exists(String table, UUID id) {
		return this.jdbc.sql("select count(*) from " + table + " where id = ?")
			.param(id)
			.query(Integer.class)
			.single() == 1;
	}

	private <T> Future<T> async(Supplier<T> call) {
		return this.threads.submit(call::get);
	}

	private EntityExchangeResult<byte[]> post(String path, Map<String, Object> body) {
		return this.client.post()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectBody()
			.returnResult();
	}

	private EntityExchangeResult<byte[]> delete(String path) {
		return this.client.delete().uri(path).exchange().expectBody().returnResult();
	}

}
