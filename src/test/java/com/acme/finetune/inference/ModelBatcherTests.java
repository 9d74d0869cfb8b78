package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import ai.djl.modality.Classifications;
import com.acme.finetune.training.artifact.ModelArtifact;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.util.unit.DataSize;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batching policy on a real (32 px) model: a worker holding images waits only for
 * requests that are on their way, and never longer than the delay.
 */
class ModelBatcherTests {

	/** Long enough that a test passing "without waiting" cannot be a lucky timeout. */
	private static final Duration DELAY = Duration.ofSeconds(20);

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final BufferedImage image = InferenceFixtures.colour(0, 40, 40, new Random(3));

	private ModelBatcher batcher;

	@BeforeEach
	void start() throws Exception {
		this.batcher = batcher(DELAY);
	}

	@AfterEach
	void stop() {
		this.batcher.close();
	}

	@Test
	void aLoneClientIsNotHeldBack() throws Exception {
		for (int i = 0; i < 3; i++) {
			long start = System.nanoTime();
			try (ModelBatcher.Arrival arrival = this.batcher.announce()) {
				await(this.batcher.submit(List.of(this.image)));
			}
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(DELAY.dividedBy(4));
		}
		assertThat(batches().count()).isEqualTo(3);
	}

	@Test
	void requestsInFlightJoinTheBatchOfTheFirst() throws Exception {
		ModelBatcher.Arrival first = this.batcher.announce();
		ModelBatcher.Arrival second = this.batcher.announce();
		ModelBatcher.Arrival third = this.batcher.announce();
		List<CompletableFuture<Classifications>> a = this.batcher.submit(List.of(this.image));
		// the worker holds one image while two more requests are being decoded
		Thread.sleep(300);
		assertThat(a.get(0)).isNotDone();
		List<CompletableFuture<Classifications>> b = this.batcher.submit(List.of(this.image));
		Thread.sleep(100);
		assertThat(b.get(0)).isNotDone();
		// the third fails while decoding: its announcement ends without images
		third.close();
		await(a);
		await(b);
		first.close();
		second.close();
		assertThat(batches().count()).isEqualTo(1);
		assertThat(batches().totalAmount()).isEqualTo(2);
	}

	@Test
	void clientsThatCameInTurnsShareTheNextBatch() throws Exception {
		restart(Duration.ofSeconds(1));
		ModelBatcher.Arrival one = this.batcher.announce();
		ModelBatcher.Arrival two = this.batcher.announce();
		// client two is still sending when one's image runs: the batch ends with two in
		// flight
		await(this.batcher.submit(List.of(this.image)));
		one.close();
		List<CompletableFuture<Classifications>> b = this.batcher.submit(List.of(this.image));
		two.close();
		// so the next batch waits for a second client (one, back again) instead of
		// running alone
		try (ModelBatcher.Arrival again = this.batcher.announce()) {
			List<CompletableFuture<Classifications>> c = this.batcher.submit(List.of(this.image));
			await(b);
			await(c);
		}
		assertThat(batches().count()).isEqualTo(2);
		assertThat(batches().totalAmount()).isEqualTo(3);
	}

	@Test
	void theDelayBoundsTheWait() throws Exception {
		restart(Duration.ofMillis(200));
		try (ModelBatcher.Arrival mine = this.batcher.announce(); ModelBatcher.Arrival slow = this.batcher.announce()) {
			long start = System.nanoTime();
			await(this.batcher.submit(List.of(this.image)));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200))
				.isLessThan(Duration.ofSeconds(10));
		}
	}

	private void restart(Duration delay) throws Exception {
		this.batcher.close();
		this.batcher = batcher(delay);
	}

	private ModelBatcher batcher(Duration delay) throws Exception {
		InferenceProperties properties = new InferenceProperties(1, DataSize.ofGigabytes(1), 8, delay, 64, 1, 8,
				1_000_000, Duration.ofSeconds(1), Duration.ofSeconds(60), "cpu", false, DataSize.ofMegabytes(64),
				100_000_000, DataSize.ofMegabytes(256), 1);
		ModelArtifact artifact = ModelArtifact.load(InferenceFixtures.colourModel(), "cpu");
		ModelBatcher batcher = new ModelBatcher(UUID.randomUUID(), artifact, properties,
				new InferenceMetrics(this.meters));
		batcher.start();
		return batcher;
	}

	private DistributionSummary batches() {
		return this.meters.get("finetune.inference.batch.size").summary();
	}

	private static void await(List<CompletableFuture<Classifications>> futures) throws Exception {
		for (CompletableFuture<Classifications> future : futures) {
			assertThat(future.get(30, TimeUnit.SECONDS).getClassNames()).hasSize(InferenceFixtures.COLOURS.size());
		}
	}

}
