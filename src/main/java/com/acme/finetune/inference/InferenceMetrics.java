package com.acme.finetune.inference;

import java.time.Duration;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import org.springframework.stereotype.Component;

/**
 * Prediction and explanation latency, batch sizes, queue depth and the loaded-model
 * cache.
 */
@Component
class InferenceMetrics {

	private final MeterRegistry registry;

	private final Timer latency;

	private final Timer explanationLatency;

	private final DistributionSummary batchSize;

	private final Counter hits;

	private final Counter misses;

	private final Counter evictions;

	InferenceMetrics(MeterRegistry registry) {
		this.registry = registry;
		this.latency = Timer.builder("finetune.prediction.latency")
			.description("Time to answer a prediction request (decode, queue, forward pass)")
			.publishPercentileHistogram()
			.minimumExpectedValue(Duration.ofMillis(1))
			.maximumExpectedValue(Duration.ofSeconds(30))
			.register(registry);
		this.batchSize = DistributionSummary.builder("finetune.inference.batch.size")
			.description("Images per forward pass")
			.baseUnit("images")
			.publishPercentileHistogram()
			.minimumExpectedValue(1.0)
			.maximumExpectedValue(256.0)
			.register(registry);
		this.explanationLatency = Timer.builder("finetune.explanation.latency")
			.description("Time to answer a Grad-CAM explanation (decode, queue, forward and backward pass)")
			.publishPercentileHistogram()
			.minimumExpectedValue(Duration.ofMillis(1))
			.maximumExpectedValue(Duration.ofSeconds(60))
			.register(registry);
		this.hits = cache("hit");
		this.misses = cache("miss");
		this.evictions = Counter.builder("finetune.inference.model.evictions")
			.description("Models unloaded to stay within the count or memory bound, or deleted")
			.register(registry);
	}

	private Counter cache(String result) {
		return Counter.builder("finetune.inference.model.cache")
			.description("Loaded-model lookups by result")
			.tag("result", result)
			.register(this.registry);
	}

	/** Registered by the registry, which owns the numbers. */
	void gauges(Supplier<Number> loadedModels, Supplier<Number> loadedBytes, Supplier<Number> queueDepth) {
		Gauge.builder("finetune.inference.models.loaded", loadedModels)
			.description("Models loaded in memory")
			.register(this.registry);
		Gauge.builder("finetune.inference.models.loaded.bytes", loadedBytes)
			.description("Weights of the loaded models, as counted against the memory budget")
			.baseUnit("bytes")
			.register(this.registry);
		Gauge.builder("finetune.inference.queue.depth", queueDepth)
			.description("Images waiting for a forward pass, all models")
			.register(this.registry);
	}

	void imageMemory(Supplier<Number> usedBytes) {
		Gauge.builder("finetune.inference.image.memory", usedBytes)
			.description("Heap held by decoded prediction images (decoding, queued or in a forward pass)")
			.baseUnit("bytes")
			.register(this.registry);
	}

	/**
	 * One explanation request by outcome ({@code ok}, {@code invalid}, {@code not-found},
	 * {@code not-explainable}, {@code busy}, {@code error}); the latency of answered
	 * ones.
	 */
	void explanation(long nanos, String outcome) {
		Counter.builder("finetune.explanations")
			.description("Grad-CAM explanation requests by outcome")
			.tag("outcome", outcome)
			.register(this.registry)
			.increment();
		if ("ok".equals(outcome)) {
			this.explanationLatency.record(Duration.ofNanos(nanos));
		}
	}

	void latency(long nanos) {
		this.latency.record(Duration.ofNanos(nanos));
	}

	void batch(int size) {
		this.batchSize.record(size);
	}

	void hit() {
		this.hits.increment();
	}

	void miss() {
		this.misses.increment();
	}

	void eviction() {
		this.evictions.increment();
	}

}
