package com.acme.finetune.sweep;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import com.acme.finetune.job.JobStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Sweep metrics for Prometheus, refreshed from the database so every replica reports the
 * same: {@code finetune_sweeps{status}}, {@code finetune_sweep_trials{state}} (trial jobs
 * by status) and {@code finetune_sweep_epochs_saved} (epochs that trials stopped early
 * did not train); {@code finetune_sweeps_finished_total{status}} counts sweeps ended
 * here.
 */
@Component
class SweepMetrics {

	private final JdbcClient jdbc;

	private final MeterRegistry registry;

	private final Map<SweepStatus, AtomicLong> byStatus = new EnumMap<>(SweepStatus.class);

	private final Map<JobStatus, AtomicLong> trialsByState = new EnumMap<>(JobStatus.class);

	private final AtomicLong epochsSaved = new AtomicLong();

	SweepMetrics(JdbcClient jdbc, MeterRegistry registry) {
		this.jdbc = jdbc;
		this.registry = registry;
		for (SweepStatus status : SweepStatus.values()) {
			AtomicLong value = new AtomicLong();
			this.byStatus.put(status, value);
			Gauge.builder("finetune.sweeps", value, AtomicLong::get)
				.description("Sweeps by status")
				.tag("status", status.name())
				.register(registry);
		}
		for (JobStatus state : JobStatus.values()) {
			AtomicLong value = new AtomicLong();
			this.trialsByState.put(state, value);
			Gauge.builder("finetune.sweep.trials", value, AtomicLong::get)
				.description("Sweep trials by job status")
				.tag("state", state.name())
				.register(registry);
		}
		Gauge.builder("finetune.sweep.epochs.saved", this.epochsSaved, AtomicLong::get)
			.description("Epochs not trained because early termination stopped trials")
			.register(registry);
	}

	@Scheduled(fixedDelayString = "${app.jobs.metrics-refresh:5s}", initialDelay = 1500)
	void refresh() {
		Map<String, Long> sweeps = new java.util.HashMap<>();
		this.jdbc.sql("select status, count(*) from sweeps group by status")
			.query((rs, i) -> sweeps.put(rs.getString(1), rs.getLong(2)))
			.list();
		this.byStatus.forEach((status, value) -> value.set(sweeps.getOrDefault(status.name(), 0L)));
		Map<String, Long> trials = new java.util.HashMap<>();
		this.jdbc.sql("select j.status, count(*) from sweep_trials t join jobs j on j.id = t.job_id group by j.status")
			.query((rs, i) -> trials.put(rs.getString(1), rs.getLong(2)))
			.list();
		this.trialsByState.forEach((state, value) -> value.set(trials.getOrDefault(state.name(), 0L)));
		this.epochsSaved.set(this.jdbc.sql("""
				select coalesce(sum(s.max_epochs - (select count(*) from job_epochs e where e.job_id = t.job_id)), 0)
				from sweep_trials t join jobs j on j.id = t.job_id join sweeps s on s.id = t.sweep_id
				where j.status = 'STOPPED_EARLY'""").query(Long.class).single());
	}

	void finished(SweepStatus status) {
		Counter.builder("finetune.sweeps.finished")
			.description("Sweeps ended on this node, by status")
			.tag("status", status.name())
			.register(this.registry)
			.increment();
	}

}
