package com.acme.finetune.sweep;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;

import com.acme.finetune.job.JobStatus;
import com.acme.finetune.web.Paging;
import tools.jackson.databind.ObjectMapper;

import org.springframework.data.domain.Sort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The sweep tables, in plain SQL (portable between PostgreSQL and H2). Trials are read
 * together with their jobs' rows and per-epoch metrics, which is what every decision is
 * made from.
 */
@Component
class SweepStore {

	private static final String COLUMNS = "id, status, dataset_id, base_model, spec, strategy, planned_trials, "
			+ "parallel_trials, max_epochs, budget_minutes, stop_reason, best_job_id, refit_job_id, model_id, "
			+ "error_message, created_at, finished_at, updated_at";

	private final JdbcClient jdbc;

	private final ObjectMapper json;

	SweepStore(JdbcClient jdbc, ObjectMapper json) {
		this.jdbc = jdbc;
		this.json = json;
	}

	/** A sweep row. */
	record Sweep(UUID id, SweepStatus status, UUID datasetId, String baseModel, String spec, String strategy,
			int plannedTrials, int parallelTrials, int maxEpochs, Integer budgetMinutes, String stopReason,
			UUID bestJobId, UUID refitJobId, UUID modelId, String errorMessage, Instant createdAt, Instant finishedAt,
			Instant updatedAt) {

		Instant budgetEndsAt() {
			return (this.budgetMinutes != null) ? this.createdAt.plusSeconds(60L * this.budgetMinutes) : null;
		}

	}

	/**
	 * A trial with its job's state: {@code epochs} recorded so far, the best validation
	 * accuracy and loss among them.
	 */
	record Trial(int index, UUID jobId, String params, boolean refit, JobStatus status, UUID modelId,
			String finalMetrics, int epochs, Double bestValAccuracy, Double bestValLoss, Instant createdAt,
			Instant finishedAt) {

		boolean active() {
			return this.status == JobStatus.QUEUED || this.status == JobStatus.RUNNING;
		}

	}

	/** An early-termination decision. */
	record Decision(UUID jobId, int epoch, String decision, String reason, Double objective, int peers,
			Instant decidedAt) {
	}

	void insert(Sweep s) {
		this.jdbc
			.sql("insert into sweeps (" + COLUMNS + ") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			.params(s.id(), s.status().name(), s.datasetId(), s.baseModel(), s.spec(), s.strategy(), s.plannedTrials(),
					s.parallelTrials(), s.maxEpochs(), s.budgetMinutes(), s.stopReason(), s.bestJobId(), s.refitJobId(),
					s.modelId(), s.errorMessage(), ts(s.createdAt()), ts(s.finishedAt()), ts(s.updatedAt()))
			.update();
	}

	Optional<Sweep> find(UUID id) {
		return this.jdbc.sql("select " + COLUMNS + " from sweeps where id = ?").param(id).query(this::sweep).optional();
	}

	/**
	 * Locks the sweep's row for this transaction, or empty when another transaction holds
	 * it (another replica is advancing the sweep right now).
	 */
	Optional<Sweep> tryLock(UUID id) {
		return this.jdbc.sql("select " + COLUMNS + " from sweeps where id = ? for update skip locked")
			.param(id)
			.query(this::sweep)
			.optional();
	}

	/** Locks the sweep's row for this transaction, waiting for other holders. */
	Optional<Sweep> lock(UUID id) {
		return this.jdbc.sql("select " + COLUMNS + " from sweeps where id = ? for update")
			.param(id)
			.query(this::sweep)
			.optional();
	}

	List<UUID> activeIds() {
		return this.jdbc.sql("select id from sweeps where status = ? order by created_at")
			.param(SweepStatus.RUNNING.name())
			.query((rs, i) -> rs.getObject(1, UUID.class))
			.list();
	}

	List<Sweep> page(SweepStatus status, Paging paging) {
		String order = paging.sort()
			.stream()
			.map((o) -> o.getProperty() + (o.getDirection() == Sort.Direction.DESC ? " desc" : " asc"))
			.collect(Collectors.joining(", "));
		String where = (status != null) ? " where status = :status" : "";
		var spec = this.jdbc
			.sql("select " + COLUMNS + " from sweeps" + where + " order by " + (order.isEmpty() ? "id" : order)
					+ " limit :limit offset :offset")
			.param("limit", paging.size())
			.param("offset", (long) paging.page() * paging.size());
		if (status != null) {
			spec = spec.param("status", status.name());
		}
		return spec.query(this::sweep).list();
	}

	long count(SweepStatus status) {
		if (status == null) {
			return this.jdbc.sql("select count(*) from sweeps").query(Long.class).single();
		}
		return this.jdbc.sql("select count(*) from sweeps where status = ?")
			.param(status.name())
			.query(Long.class)
			.single();
	}

	List<Object[]> countByStatus() {
		return this.jdbc.sql("select status, count(*) from sweeps group by status")
			.query((rs, i) -> new Object[] { rs.getString(1), rs.getLong(2) })
			.list();
	}

	void stopReason(UUID id, String reason) {
		this.jdbc.sql("update sweeps set stop_reason = ?, updated_at = ? where id = ?")
			.params(reason, ts(Instant.now()), id)
			.update();
	}

	void refitJob(UUID id, UUID jobId) {
		this.jdbc.sql("update sweeps set refit_job_id = ?, updated_at = ? where id = ?")
			.params(jobId, ts(Instant.now()), id)
			.update();
	}

	/** Ends a RUNNING sweep; false when it had already ended. */
	boolean finish(UUID id, SweepStatus status, UUID bestJobId, UUID modelId, String error) {
		Instant now = Instant.now();
		return this.jdbc
			.sql("update sweeps set status = ?, best_job_id = ?, model_id = ?, error_message = ?, finished_at = ?, "
					+ "updated_at = ? where id = ? and status = ?")
			.params(status.name(), bestJobId, modelId, error, ts(now), ts(now), id, SweepStatus.RUNNING.name())
			.update() == 1;
	}

	void insertTrial(UUID sweepId, int index, UUID jobId, String params, boolean refit) {
		this.jdbc
			.sql("insert into sweep_trials (sweep_id, trial_index, job_id, params, refit, created_at) "
					+ "values (?, ?, ?, ?, ?, ?)")
			.params(sweepId, index, jobId, params, refit, ts(Instant.now()))
			.update();
	}

	List<Trial> trials(UUID sweepId) {
		return this.jdbc.sql("""
				select t.trial_index, t.job_id, t.params, t.refit, j.status, j.model_id, j.final_metrics,
				t.created_at, j.finished_at,
				(select count(*) from job_epochs e where e.job_id = t.job_id) as epochs,
				(select max(e.val_accuracy) from job_epochs e where e.job_id = t.job_id) as best_acc,
				(select min(e.val_loss) from job_epochs e where e.job_id = t.job_id) as best_loss
				from sweep_trials t join jobs j on j.id = t.job_id where t.sweep_id = ? order by t.trial_index""")
			.param(sweepId)
			.query((rs, i) -> new Trial(rs.getInt("trial_index"), rs.getObject("job_id", UUID.class),
					rs.getString("params"), rs.getBoolean("refit"), JobStatus.valueOf(rs.getString("status")),
					rs.getObject("model_id", UUID.class), rs.getString("final_metrics"), rs.getInt("epochs"),
					nullableDouble(rs, "best_acc"), nullableDouble(rs, "best_loss"), instant(rs, "created_at"),
					instant(rs, "finished_at")))
			.list();
	}

	/**
	 * Per-epoch metrics of every trial of the sweep:
	 * {@code [jobId, epoch, valAccuracy, valLoss]}.
	 */
	List<EpochPoint> epochs(UUID sweepId) {
		return this.jdbc.sql("""
				select e.job_id, e.epoch, e.val_accuracy, e.val_loss from job_epochs e
				join sweep_trials t on t.job_id = e.job_id where t.sweep_id = ? order by e.job_id, e.epoch""")
			.param(sweepId)
			.query((rs, i) -> new EpochPoint(rs.getObject(1, UUID.class), rs.getInt(2), rs.getDouble(3),
					rs.getDouble(4)))
			.list();
	}

	record EpochPoint(UUID jobId, int epoch, double valAccuracy, double valLoss) {
	}

	/** The trial a job is, or empty for a job outside sweeps. */
	Optional<Trial> trialOf(UUID jobId) {
		Optional<UUID> sweepId = this.jdbc.sql("select sweep_id from sweep_trials where job_id = ?")
			.param(jobId)
			.query((rs, i) -> rs.getObject(1, UUID.class))
			.optional();
		return sweepId.flatMap((id) -> trials(id).stream().filter((t) -> t.jobId().equals(jobId)).findFirst());
	}

	Optional<UUID> sweepOf(UUID jobId) {
		return this.jdbc.sql("select sweep_id from sweep_trials where job_id = ?")
			.param(jobId)
			.query((rs, i) -> rs.getObject(1, UUID.class))
			.optional();
	}

	Optional<Decision> decision(UUID jobId, int epoch) {
		return this.jdbc.sql("select " + DECISION_COLUMNS + " from sweep_decisions where job_id = ? and epoch = ?")
			.params(jobId, epoch)
			.query(this::decision)
			.optional();
	}

	boolean stopped(UUID jobId) {
		return this.jdbc.sql("select count(*) from sweep_decisions where job_id = ? and decision = 'STOP'")
			.param(jobId)
			.query(Long.class)
			.single() > 0;
	}

	List<Decision> decisions(UUID sweepId) {
		return this.jdbc
			.sql("select " + DECISION_COLUMNS + " from sweep_decisions where sweep_id = ? order by decided_at, job_id")
			.param(sweepId)
			.query(this::decision)
			.list();
	}

	void insertDecision(UUID sweepId, Decision d) {
		this.jdbc.sql("""
				insert into sweep_decisions (job_id, epoch, sweep_id, decision, reason, objective, peers, decided_at)
				values (?, ?, ?, ?, ?, ?, ?, ?)""")
			.params(d.jobId(), d.epoch(), sweepId, d.decision(), d.reason(), d.objective(), d.peers(),
					ts(d.decidedAt()))
			.update();
	}

	void event(UUID sweepId, String type, Object data) {
		this.jdbc.sql("insert into sweep_events (sweep_id, type, data, created_at) values (?, ?, ?, ?)")
			.params(sweepId, type, this.json.writeValueAsString(data), ts(Instant.now()))
			.update();
	}

	List<Event> events(UUID sweepId, long afterId, int limit) {
		return this.jdbc
			.sql("select id, type, data from sweep_events where sweep_id = ? and id > ? order by id limit " + limit)
			.params(sweepId, afterId)
			.query((rs, i) -> new Event(rs.getLong("id"), rs.getString("type"), rs.getString("data")))
			.list();
	}

	record Event(long id, String type, String data) {
	}

	private static final String DECISION_COLUMNS = "job_id, epoch, decision, reason, objective, peers, decided_at";

	private Decision decision(ResultSet rs, int row) throws SQLException {
		return new Decision(rs.getObject("job_id", UUID.class), rs.getInt("epoch"), rs.getString("decision"),
				rs.getString("reason"), nullableDouble(rs, "objective"), rs.getInt("peers"), instant(rs, "decided_at"));
	}

	private Sweep sweep(ResultSet rs, int row) throws SQLException {
		int budget = rs.getInt("budget_minutes");
		Integer budgetMinutes = rs.wasNull() ? null : budget;
		return new Sweep(rs.getObject("id", UUID.class), SweepStatus.valueOf(rs.getString("status")),
				rs.getObject("dataset_id", UUID.class), rs.getString("base_model"), rs.getString("spec"),
				rs.getString("strategy"), rs.getInt("planned_trials"), rs.getInt("parallel_trials"),
				rs.getInt("max_epochs"), budgetMinutes, rs.getString("stop_reason"),
				rs.getObject("best_job_id", UUID.class), rs.getObject("refit_job_id", UUID.class),
				rs.getObject("model_id", UUID.class), rs.getString("error_message"), instant(rs, "created_at"),
				instant(rs, "finished_at"), instant(rs, "updated_at"));
	}

	private static Double nullableDouble(ResultSet rs, String column) throws SQLException {
		double value = rs.getDouble(column);
		return rs.wasNull() ? null : value;
	}

	private static Instant instant(ResultSet rs, String column) throws SQLException {
		Timestamp ts = rs.getTimestamp(column);
		return (ts != null) ? ts.toInstant() : null;
	}

	private static Timestamp ts(Instant instant) {
		return (instant != null) ? Timestamp.from(instant) : null;
	}

}
