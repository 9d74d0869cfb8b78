package com.acme.finetune.inference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.PredictionClient.Part;
import com.acme.finetune.inference.PredictionClient.Reply;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ProblemType;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The registry under tight bounds: one loaded model at a time, a queue of four images.
 * The service runs in this JVM, so {@code /proc/self/status} shows its native memory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@AutoConfigureMetrics
@TestPropertySource(properties = { "app.inference.max-loaded-models=1", "app.inference.queue-capacity=4",
		"app.inference.max-batch-size=4", "app.inference.retry-after=2s" })
class ModelRegistryTests extends AbstractIntegrationTests {

	private static final Logger log = LoggerFactory.getLogger(ModelRegistryTests.class);

	private static final long MB = 1024 * 1024;

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ModelRegistry registry;

	@Autowired
	MeterRegistry meters;

	@Autowired
	RestTestClient client;

	@Autowired
	ObjectMapper json;

	@LocalServerPort
	int port;

	Path work;

	Path artifact;

	PredictionClient predictions;

	final byte[] image = InferenceFixtures.png(InferenceFixtures.colour(2, 36, 36, new Random(9)));

	@BeforeAll
	void trainModel() throws IOException {
		this.work = Files.createTempDirectory("registry-tests-");
		this.artifact = InferenceFixtures.colourModel();
		this.predictions = new PredictionClient(this.port, this.json);
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void evictionReleasesNativeMemory() throws IOException {
		List<UUID> models = new ArrayList<>();
		for (int i = 0; i < 4; i++) {
			models.add(register("m" + i));
		}
		List<Part> four = List.of(Part.image("a.png", this.image), Part.image("b.png", this.image),
				Part.image("c.png", this.image), Part.image("d.png", this.image));
		// steady state with one model loaded and its allocator pools warm; then many
		// batches must not grow it (each step's tensors live in the predictor's per-call
		// sub-manager; unscoped, each batch would keep its activations)
		for (int i = 0; i < 20; i++) {
			assertThat(this.predictions.predict(models.get(0), four).status()).isEqualTo(200);
		}
		long baseline = rss();
		for (int i = 0; i < 60; i++) {
			assertThat(this.predictions.predict(models.get(0), four).status()).isEqualTo(200);
		}
		long afterBatches = rss();
		log.info("RSS {} MB with one model, {} MB after 60 batches of 4", baseline / MB, afterBatches / MB);
		assertThat(afterBatches - baseline).as("growth over 60 batches").isLessThan(64 * MB);

		double evictionsBefore = this.meters.get("finetune.inference.model.evictions").counter().count();
		long[] peaks = new long[2];
		for (int cycle = 1; cycle <= 8; cycle++) {
			UUID id = models.get(cycle % 4);
			predict(id);
			assertThat(this.registry.loaded()).extracting(ModelRegistry.LoadedModel::id).containsExactly(id);
			long now = rss();
			log.info("load/evict cycle {}: RSS {} MB", cycle, now / MB);
			peaks[(cycle - 1) / 4] = Math.max(peaks[(cycle - 1) / 4], now);
		}
		assertThat(this.meters.get("finetune.inference.model.evictions").counter().count() - evictionsBefore)
			.isEqualTo(8);
		// Each model holds ~90 MB of weights: had evicted models stayed in memory, RSS
		// would climb by that much every cycle (it did, ~110 MB per cycle, while loads
		// ran
		// on whichever request thread missed; see ModelRegistry#loader). Allowed: a
		// plateau once the allocator's pools are warm, about 1-2 models of slack (glibc
		// keeps freed pages in the arenas of the short-lived worker threads, plus JIT and
		// heap growth), and no growth from the first four cycles to the last four.
		assertThat(peaks[1] - peaks[0]).as("RSS growth from cycles 1-4 to 5-8").isLessThan(64 * MB);
		assertThat(peaks[1] - baseline).as("RSS above the one-model baseline").isLessThan(256 * MB);
	}

	@Test
	void concurrentFirstRequestsLoadTheModelOnce() throws Exception {
		UUID id = register("single-flight");
		double misses = this.meters.get("finetune.inference.model.cache").tag("result", "miss").counter().count();
		// four: what this context's queue holds at once
		ExecutorService pool = Executors.newFixedThreadPool(4);
		CountDownLatch go = new CountDownLatch(1);
		try {
			List<Future<Reply>> replies = new ArrayList<>();
			for (int i = 0; i < 4; i++) {
				replies.add(pool.submit(() -> {
					go.await();
					return this.predictions.predict(id, "x.png", this.image);
				}));
			}
			go.countDown();
			for (Future<Reply> reply : replies) {
				assertThat(reply.get().status()).isEqualTo(200);
			}
		}
		finally {
			pool.shutdownNow();
		}
		assertThat(this.meters.get("finetune.inference.model.cache").tag("result", "miss").counter().count() - misses)
			.isEqualTo(1);
	}

	@Test
	void aFullQueueAnswers503WithRetryAfter() throws Exception {
		UUID id = register("busy");
		predict(id);
		List<Part> four = List.of(Part.image("a.png", this.image), Part.image("b.png", this.image),
				Part.image("c.png", this.image), Part.image("d.png", this.image));
		ExecutorService pool = Executors.newFixedThreadPool(16);
		List<Reply> busy = new ArrayList<>();
		try {
			for (int round = 0; round < 5 && busy.isEmpty(); round++) {
				List<Future<Reply>> replies = new ArrayList<>();
				for (int i = 0; i < 16; i++) {
					replies.add(pool.submit(() -> this.predictions.predict(id, four)));
				}
				for (Future<Reply> f : replies) {
					Reply reply = f.get();
					assertThat(reply.status()).as("%s", reply.body()).isIn(200, 503);
					if (reply.status() == 503) {
						busy.add(reply);
					}
				}
			}
		}
		finally {
			pool.shutdownNow();
		}
		assertThat(busy).isNotEmpty();
		PredictionApiTests.assertProblem(busy.get(0), 503, ProblemType.SERVICE_BUSY);
		assertThat(busy.get(0).retryAfter()).isEqualTo("2");
		// more images than the queue can ever hold is the client's error, not "busy"
		List<Part> five = new ArrayList<>(four);
		five.add(Part.image("e.png", this.image));
		PredictionApiTests.assertProblem(this.predictions.predict(id, five), 400, ProblemType.VALIDATION);
	}

	@Test
	void metricsAreExposedForPrometheus() throws IOException {
		predict(register("metrics"));
		String prometheus = this.client.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(prometheus).contains("finetune_prediction_latency_seconds_bucket")
			.contains("finetune_inference_batch_size_images_bucket")
			.contains("finetune_inference_queue_depth")
			.contains("finetune_inference_model_cache_total{result=\"hit\"}")
			.contains("finetune_inference_model_cache_total{result=\"miss\"}")
			.contains("finetune_inference_model_evictions_total")
			.contains("finetune_inference_models_loaded ");
	}

	private UUID register(String name) throws IOException {
		return InferenceFixtures.register(this.catalog, this.artifact, this.work, InferenceFixtures.COLOURS, name);
	}

	private void predict(UUID id) {
		Reply reply = this.predictions.predict(id, "x.png", this.image);
		assertThat(reply.status()).as("%s", reply.body()).isEqualTo(200);
	}

	/** After a full GC and a moment for the JVM and glibc to hand pages back. */
	private static long rss() {
		System.gc();
		try {
			Thread.sleep(300);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		return InferenceFixtures.rssBytes();
	}

}
