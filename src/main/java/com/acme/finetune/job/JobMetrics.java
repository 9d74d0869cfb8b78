package com.acme.finetune.job;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.acme.finetune.training.EpochMetrics;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Job metrics for Prometheus: jobs by status and queue depth (refreshed from the database
 * every few seconds, so every replica reports the same numbers), job and epoch durations,
 * and training throughput.
 */
@Component
class JobMetrics {

	private final JobRepository jobs;

	private final MeterRegistry registry;

	private final Map<JobStatus, AtomicLong> byStatus = new EnumMap<>(JobStatus.class);

	private final Timer epochDuration;

	private final DistributionSummary imagesPerSecond;

	JobMetrics(JobRepository jobs, MeterRegistry registry) {
		this.jobs = jobs;
		this.registry = registry;
		for (JobStatus status : JobStatus.values()) {
			AtomicLong value = new AtomicLong();
			this.byStatus.put(status, value);
			Gauge.builder("finetune.jobs", value, AtomicLong::get)
				.description("Jobs by status")
				.tag("status", status.name())
				.register(registry);
		}
		Gauge.builder("finetune.jobs.queue.depth", this.byStatus.get(JobStatus.QUEUED), AtomicLong::get)
			.description("Jobs waiting for a worker")
			.register(registry);
		this.epochDuration = Timer.builder("finetune.training.epoch.duration")
			.description("Duration of training epochs")
			.register(registry);
		this.imagesPerSecond = DistributionSummary.builder("finetune.training.images.per.second")
			.description("Training throughput per step")
			.register(registry);
	}

	@Scheduled(fixedDelayString = "${app.jobs.metrics-refresh:5s}", initialDelay = 1000)
	void refresh() {
		Map<JobStatus, Long> counts = new EnumMap<>(JobStatus.class);
		for (Object[] row : this.jobs.countByStatus()) {
			counts.put((JobStatus) row[0], (Long) row[1]);
		}
		this.byStatus.forEach((status, value) -> value.set(counts.getOrDefault(status, 0L)));
	}

	void finished(JobStatus status, long nanos) {
		Timer.builder("finetune.jobs.duration")
			.description("Duration of job attempts by outcome")
			.tag("status", status.name())
			.register(this.registry)
			.record(Duration.ofNanos(nanos));
	}

	void epochFinished(EpochMetrics metrics) {
		this.epochDuration.record(metrics.durationMs(), TimeUnit.MILLISECONDS);
	}

	void trainingThroughput(double imagesPerSecond) {
		this.imagesPerSecond.record(imagesPerSecond);
	}

}
