package com.acme.finetune.evaluation;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Evaluation metrics for Prometheus, like the job ones: evaluations by status (refreshed
 * from the database, so every replica reports the same), run durations by outcome, and
 * images scored.
 */
@Component
class EvaluationMetricsRecorder {

	private final EvaluationStore store;

	private final MeterRegistry registry;

	private final Map<WorkStatus, AtomicLong> byStatus = new EnumMap<>(WorkStatus.class);

	private final Counter images;

	EvaluationMetricsRecorder(EvaluationStore store, MeterRegistry registry) {
		this.store = store;
		this.registry = registry;
		for (WorkStatus status : WorkStatus.values()) {
			AtomicLong value = new AtomicLong();
			this.byStatus.put(status, value);
			Gauge.builder("finetune.evaluations", value, AtomicLong::get)
				.description("Evaluations by status")
				.tag("status", status.name())
				.register(registry);
		}
		this.images = Counter.builder("finetune.evaluations.images")
			.description("Images scored by evaluations")
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
		Timer.builder("finetune.evaluations.duration")
			.description("Duration of evaluation attempts by outcome")
			.tag("status", status.name())
			.register(this.registry)
			.record(Duration.ofNanos(nanos));
	}

	void images(int count) {
		this.images.increment(count);
	}

}
