package com.acme.finetune.evaluation;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Batch prediction metrics for Prometheus, like the job ones: batch predictions by status
 * and queue depth (from the database), run durations by outcome, images classified and
 * throughput per run.
 */
@Component
class BatchPredictionMetrics {

	private final BatchPredictionStore store;

	private final MeterRegistry registry;

	private final Map<WorkStatus, AtomicLong> byStatus = new EnumMap<>(WorkStatus.class);

	private final Counter images;

	private final DistributionSummary imagesPerSecond;

	BatchPredictionMetrics(BatchPredictionStore store, MeterRegistry registry) {
		this.store = store;
		this.registry = registry;
		for (WorkStatus status : WorkStatus.values()) {
			AtomicLong value = new AtomicLong();
			this.byStatus.put(status, value);
			Gauge.builder("finetune.batch.predictions", value, AtomicLong::get)
				.description("Batch predictions by status")
				.tag("status", status.name())
				.register(registry);
		}
		this.images = Counter.builder("finetune.batch.predictions.images")
			.description("Images classified by batch predictions (undecodable ones included)")
			.register(registry);
		this.imagesPerSecond = DistributionSummary.builder("finetune.batch.predictions.images.per.second")
			.description("Throughput of finished batch predictions")
			.register(registry);
	}

	@Scheduled(fixedDelayString = "${app.jobs.metrics-refresh:5s}", initialDelay = 1000)
	void refresh() {
		Map<WorkStatus, Long> counts = new EnumMap<>(WorkStatus.class);
		for (Object[] row : this.store.countByStatus()) {
			counts.put(WorkStatus.valueOf((String) row[0]), (Long) row[1]);
		}
		this.byStatus.forEach((status, value) -> value.set(counts.getOrDefault(status, 0L)));
	}

	void finished(WorkStatus status, long nanos) {
		Timer.builder("finetune.batch.predictions.duration")
			.description("Duration of batch prediction attempts by outcome")
			.tag("status", status.name())
			.register(this.registry)
			.record(Duration.ofNanos(nanos));
	}

	void images(int count) {
		this.images.increment(count);
	}

	void throughput(double imagesPerSecond) {
		this.imagesPerSecond.record(imagesPerSecond);
	}

}
