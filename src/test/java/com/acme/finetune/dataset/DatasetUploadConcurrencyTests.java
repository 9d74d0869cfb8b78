package com.acme.finetune.dataset;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.imageio.ImageIO;
import javax.sql.DataSource;

import com.acme.finetune.AbstractApiNodeTests;
import com.acme.finetune.support.TestApi;
import com.acme.finetune.support.TestImages;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keyed dataset uploads under concurrency, on a node with a small connection pool: the
 * same key racing creates one dataset, and many uploads extracting at once leave the pool
 * to everyone else (job heartbeats, reads).
 */
class DatasetUploadConcurrencyTests extends AbstractApiNodeTests {

	@Autowired
	RestTestClient client;

	@Autowired
	DataSource dataSource;

	@Autowired
	JdbcClient jdbc;

	@Autowired
	ObjectMapper json;

	private final ExecutorService threads = Executors.newCachedThreadPool();

	@AfterEach
	void stopThreads() {
		this.threads.shutdownNow();
	}

	@Test
	void uploadsRacingWithOneKeyCreateOneDataset() throws Exception {
		byte[] archive = TestImages.redBlueDataset(20, 48);
		String key = UUID.randomUUID().toString();
		String name = "race-" + key;
		int racers = 4;
		CyclicBarrier start = new CyclicBarrier(racers);
		List<Future<EntityExchangeResult<byte[]>>> uploads = new ArrayList<>();
		for (int i = 0; i < racers; i++) {
			uploads.add(this.threads.submit(() -> {
				start.await();
				return upload(archive, name, key);
			}));
		}
		List<String> ids = new ArrayList<>();
		for (Future<EntityExchangeResult<byte[]>> upload : uploads) {
			EntityExchangeResult<byte[]> result = upload.get(120, TimeUnit.SECONDS);
			JsonNode body = this.json.readTree(result.getResponseBody());
			if (result.getStatus().value() == 409) {
				// the first request is still extracting: come back later
				assertThat(body.get("type").asString()).isEqualTo(ProblemType.CONFLICT.uri().toString());
				assertThat(result.getResponseHeaders().getFirst("Retry-After")).isNotNull();
			}
			else {
				assertThat(result.getStatus().value()).isEqualTo(201);
				ids.add(body.get("id").asString());
			}
		}
		assertThat(ids).isNotEmpty().allSatisfy((id) -> assertThat(id).isEqualTo(ids.get(0)));
		assertThat(datasetsNamed(name)).isOne();
		// once it has finished, the key answers with its dataset
		EntityExchangeResult<byte[]> again = upload(archive, name, key);
		assertThat(again.getStatus().value()).isEqualTo(201);
		assertThat(this.json.readTree(again.getResponseBody()).get("id").asString()).isEqualTo(ids.get(0));
	}

	@Test
	void aFailedKeyedUploadCanBeRetriedWithItsKey() {
		String key = UUID.randomUUID().toString();
		byte[] notAnArchive = "not a zip".getBytes(java.nio.charset.StandardCharsets.UTF_8);
		EntityExchangeResult<byte[]> failed = upload(notAnArchive, "retry-" + key, key);
		assertThat(failed.getStatus().is4xxClientError()).isTrue();
		// the key was released: the same request is processed again (and fails again),
		// rather than answering 409 or a result that does not exist
		EntityExchangeResult<byte[]> again = upload(notAnArchive, "retry-" + key, key);
		assertThat(again.getStatus().value()).isEqualTo(failed.getStatus().value());
	}

	@Test
	void manyKeyedUploadsExtractingAtOnceLeaveThePoolToOthers() throws Exception {
		byte[] archive = slowToExtract();
		int uploads = 2 * POOL_SIZE;
		CyclicBarrier start = new CyclicBarrier(uploads);
		AtomicBoolean running = new AtomicBoolean(true);
		AtomicLong longestWait = new AtomicLong();
		// what a worker's heartbeat does: borrow a connection, run a statement
		Future<Integer> probe = this.threads.submit(() -> {
			int probes = 0;
			while (running.get()) {
				long asked = System.nanoTime();
				try (Connection connection = this.dataSource.getConnection()) {
					longestWait.accumulateAndGet(System.nanoTime() - asked, Math::max);
					connection.createStatement().execute("select 1");
				}
				probes++;
				Thread.sleep(50);
			}
			return probes;
		});
		List<Future<EntityExchangeResult<byte[]>>> results = new ArrayList<>();
		for (int i = 0; i < uploads; i++) {
			String key = UUID.randomUUID().toString();
			results.add(this.threads.submit(() -> {
				start.await();
				return upload(archive, "slow-" + key, key);
			}));
		}
		for (Future<EntityExchangeResult<byte[]>> result : results) {
			assertThat(result.get(300, TimeUnit.SECONDS).getStatus().value()).isEqualTo(201);
		}
		running.set(false);
		assertThat(probe.get(30, TimeUnit.SECONDS)).isPositive();
		// holding a connection for a whole extraction, ten uploads took the five
		// connections for seconds; now each holds one for a few short statements
		assertThat(Duration.ofNanos(longestWait.get())).isLessThan(Duration.ofSeconds(1));
	}

	/**
	 * An archive whose extraction takes a while (every image is decoded) but which is
	 * small to send: two large flat-coloured images, a dozen copies of each.
	 */
	private static byte[] slowToExtract() throws Exception {
		Map<String, byte[]> entries = new LinkedHashMap<>();
		for (Color colour : List.of(new Color(200, 40, 40), new Color(40, 40, 200))) {
			BufferedImage image = new BufferedImage(1900, 1900, BufferedImage.TYPE_INT_RGB);
			Graphics2D graphics = image.createGraphics();
			graphics.setColor(colour);
			graphics.fillRect(0, 0, 1900, 1900);
			graphics.dispose();
			ByteArrayOutputStream png = new ByteArrayOutputStream();
			ImageIO.write(image, "png", png);
			for (int i = 0; i < 12; i++) {
				entries.put(colour.getRed() + "/img" + i + ".png", png.toByteArray());
			}
		}
		return TestImages.zip(entries);
	}

	private EntityExchangeResult<byte[]> upload(byte[] archive, String name, String key) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", TestApi.file(archive, "dataset.zip"));
		parts.add("name", name);
		return this.client.post()
			.uri("/api/v1/datasets")
			.header("Idempotency-Key", key)
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectBody()
			.returnResult();
	}

	private int datasetsNamed(String name) {
		return this.jdbc.sql("select count(*) from dataset where name = ?").param(name).query(Integer.class).single();
	}

}
