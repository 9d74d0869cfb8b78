package com.acme.finetune.job;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job system's hand-written SQL also runs on H2 in PostgreSQL mode, the zero-install
 * default database (PostgreSQL itself is covered by the job tests).
 */
class JobSchemaTests {

	private static final String H2 = "jdbc:h2:mem:jobs;MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;"
			+ "DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";

	@Test
	void theOrphanSweepFindsActiveJobsWithoutAnExecutionOnH2() {
		Flyway.configure().dataSource(H2, "sa", "").load().migrate();
		NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(new DriverManagerDataSource(H2, "sa", ""));
		Timestamp longAgo = Timestamp.from(Instant.now().minus(Duration.ofHours(1)));
		UUID orphan = job(jdbc, "RUNNING", longAgo);
		UUID queued = job(jdbc, "QUEUED", longAgo);
		job(jdbc, "SUCCEEDED", longAgo);
		job(jdbc, "RUNNING", Timestamp.from(Instant.now()));
		jdbc.update("insert into scheduled_tasks (task_name, task_instance, execution_time, picked, version) "
				+ "values ('train-job', :id, :now, false, 1)", Map.of("id", queued.toString(), "now", longAgo));
		List<UUID> found = jdbc.queryForList(JobRepository.ACTIVE_WITHOUT_EXECUTION,
				Map.of("before", Timestamp.from(Instant.now().minusSeconds(60))), UUID.class);
		assertThat(found).containsExactly(orphan);
	}

	private static UUID job(NamedParameterJdbcTemplate jdbc, String status, Timestamp updatedAt) {
		UUID id = UUID.randomUUID();
		jdbc.update("""
				insert into jobs (id, status, dataset_id, base_model, spec, progress_epoch, total_epochs, progress_step,
				  total_steps, percent, attempts, cancel_requested, created_at, updated_at)
				values (:id, :status, :dataset, 'resnet50-scratch', '{}', 0, 1, 0, 0, 0, 1, false, :at, :at)""",
				Map.of("id", id, "status", status, "dataset", UUID.randomUUID(), "at", updatedAt));
		return id;
	}

}
