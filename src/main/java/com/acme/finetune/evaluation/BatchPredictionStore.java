package com.acme.finetune.evaluation;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import tools.jackson.databind.ObjectMapper;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/** The {@code batch_predictions} table and its event log. */
@Component
class BatchPredictionStore {

	static final String STATUS = "status";

	static final String PROGRESS = "progress";

	static final String DONE = "done";

	private static final String COLUMNS = "id, model_id, dataset_id, source, top_k, status, attempts, node, images_done, "
			+ "images_total, images_failed, images_per_second, error_message, created_at, started_at, finished_at, "
			+ "updated_at";

	private final JdbcClient jdbc;

	private final ObjectMapper json;

	BatchPredictionStore(JdbcClient jdbc, ObjectMapper json) {
		this.jdbc = jdbc;
		this.json = json;
	}

	record Row(UUID id, UUID modelId, UUID datasetId, String source, int topK, WorkStatus status, int attempts,
			String node, int imagesDone, int imagesTotal, int imagesFailed, Double imagesPerSecond, String error,
			Instant createdAt, Instant startedAt, Instant finishedAt, Instant updatedAt) {
	}

	record Event(long id, String type, String data) {
	}

	void insert(UUID id, UUID modelId, UUID datasetId, String source, int topK, int total) {
		Timestamp now = Timestamp.from(Instant.now());
		this.jdbc
			.sql("insert into batch_predictions (id, model_id, dataset_id, source, top_k, status, attempts, "
					+ "images_done, images_total, images_failed, created_at, updated_at) "
					+ "values (?, ?, ?, ?, ?, 'QUEUED', 0, 0, ?, 0, ?, ?)")
			.params(id, modelId, datasetId, source, topK, total, now, now)
			.update();
	}

	Optional<Row> find(UUID id) {
		return this.jdbc.sql("select " + COLUMNS + " from batch_predictions where id = ?")
			.param(id)
			.query(BatchPredictionStore::row)
			.optional();
	}

	int claim(UUID id, String node) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc
			.sql("update batch_predictions set status = 'RUNNING', attempts = attempts + 1, node = ?, "
					+ "images_done = 0, images_failed = 0, started_at = coalesce(started_at, ?), updated_at = ? "
					+ "where id = ? and status in ('QUEUED', 'RUNNING')")
			.params(node, now, now, id)
			.update();
	}

	void progress(UUID id, int done, int failed, double imagesPerSecond) {
		this.jdbc
			.sql("update batch_predictions set images_done = ?, images_failed = ?, images_per_second = ?, "
					+ "updated_at = ? where id = ?")
			.params(done, failed, imagesPerSecond, Timestamp.from(Instant.now()), id)
			.update();
	}

	int succeed(UUID id, int done, int failed, double imagesPerSecond) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc
			.sql("update batch_predictions set status = 'SUCCEEDED', images_done = ?, images_failed = ?, "
					+ "images_per_second = ?, finished_at = ?, updated_at = ? where id = ? and status = 'RUNNING'")
			.params(done, failed, imagesPerSecond, now, now, id)
			.update();
	}

	int fail(UUID id, String message) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc
			.sql("update batch_predictions set status = 'FAILED', error_message = ?, finished_at = ?, "
					+ "updated_at = ? where id = ? and status in ('QUEUED', 'RUNNING')")
			.params(message, now, now, id)
			.update();
	}

	int requeue(UUID id) {
		return this.jdbc
			.sql("update batch_predictions set status = 'QUEUED', updated_at = ? where id = ? and status = 'RUNNING'")
			.params(Timestamp.from(Instant.now()), id)
			.update();
	}

	List<UUID> activeSince(Instant before) {
		return this.jdbc
			.sql("select id from batch_predictions where status in ('QUEUED', 'RUNNING') and updated_at < ?")
			.param(Timestamp.from(before))
			.query(UUID.class)
			.list();
	}

	boolean datasetInUse(UUID datasetId) {
		return this.jdbc
			.sql("select count(*) from batch_predictions where dataset_id = ? and status in ('QUEUED', 'RUNNING')")
			.param(datasetId)
			.query(Long.class)
			.single() > 0;
	}

	List<Object[]> countByStatus() {
		return this.jdbc.sql("select status, count(*) from batch_predictions group by status")
			.query((rs, i) -> new Object[] { rs.getString(1), rs.getLong(2) })
			.list();
	}

	void append(UUID id, String type, Object data) {
		this.jdbc.sql("insert into batch_prediction_events (batch_id, type, data, created_at) values (?, ?, ?, ?)")
			.params(id, type, this.json.writeValueAsString(data), Timestamp.from(Instant.now()))
			.update();
	}

	List<Event> eventsAfter(UUID id, long afterId, int limit) {
		return this.jdbc
			.sql("select id, type, data from batch_prediction_events where batch_id = ? and id > ? order by id limit "
					+ limit)
			.params(id, afterId)
			.query((rs, i) -> new Event(rs.getLong("id"), rs.getString("type"), rs.getString("data")))
			.list();
	}

	private static Row row(ResultSet rs, int i) throws SQLException {
		double value = rs.getDouble("images_per_second");
		Double ips = rs.wasNull() ? null : value;
		return new Row(rs.getObject("id", UUID.class), rs.getObject("model_id", UUID.class),
				rs.getObject("dataset_id", UUID.class), rs.getString("source"), rs.getInt("top_k"),
				WorkStatus.valueOf(rs.getString("status")), rs.getInt("attempts"), rs.getString("node"),
				rs.getInt("images_done"), rs.getInt("images_total"), rs.getInt("images_failed"), ips,
				rs.getString("error_message"), EvaluationStore.instant(rs, "created_at"),
				EvaluationStore.instant(rs, "started_at"), EvaluationStore.instant(rs, "finished_at"),
				EvaluationStore.instant(rs, "updated_at"));
	}

}
