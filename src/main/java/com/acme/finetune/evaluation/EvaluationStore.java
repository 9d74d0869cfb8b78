package com.acme.finetune.evaluation;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/** The {@code evaluations} table. */
@Component
class EvaluationStore {

	static final String COLUMNS = "id, model_id, registered_name, alias, model_version, dataset_id, split, status, "
			+ "attempts, node, images_done, images_total, result, error_message, created_at, started_at, "
			+ "finished_at, updated_at";

	private final JdbcClient jdbc;

	EvaluationStore(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	/** One row (without the thumbnails). */
	record Row(UUID id, UUID modelId, String registeredName, String alias, Integer modelVersion, UUID datasetId,
			String split, WorkStatus status, int attempts, String node, int imagesDone, int imagesTotal, String result,
			String error, Instant createdAt, Instant startedAt, Instant finishedAt, Instant updatedAt) {
	}

	void insert(UUID id, UUID modelId, String name, String alias, Integer version, UUID datasetId, String split) {
		Timestamp now = Timestamp.from(Instant.now());
		this.jdbc
			.sql("insert into evaluations (id, model_id, registered_name, alias, model_version, dataset_id, split, "
					+ "status, attempts, images_done, images_total, created_at, updated_at) "
					+ "values (?, ?, ?, ?, ?, ?, ?, 'QUEUED', 0, 0, 0, ?, ?)")
			.params(id, modelId, name, alias, version, datasetId, split, now, now)
			.update();
	}

	Optional<Row> find(UUID id) {
		return this.jdbc.sql("select " + COLUMNS + " from evaluations where id = ?")
			.param(id)
			.query(EvaluationStore::row)
			.optional();
	}

	List<Row> byModel(UUID modelId, String orderBy, int limit, long offset) {
		return this.jdbc
			.sql("select " + COLUMNS + " from evaluations where model_id = ? order by " + orderBy + " limit " + limit
					+ " offset " + offset)
			.param(modelId)
			.query(EvaluationStore::row)
			.list();
	}

	long countByModel(UUID modelId) {
		return this.jdbc.sql("select count(*) from evaluations where model_id = ?")
			.param(modelId)
			.query(Long.class)
			.single();
	}

	Optional<String> thumbnails(UUID id) {
		return this.jdbc.sql("select thumbnails from evaluations where id = ?")
			.param(id)
			.query(String.class)
			.optional();
	}

	/** QUEUED (or RUNNING, an attempt that was lost) → RUNNING; 0 when it ended. */
	int claim(UUID id, String node) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc.sql("update evaluations set status = 'RUNNING', attempts = attempts + 1, node = ?, "
				+ "started_at = coalesce(started_at, ?), updated_at = ? where id = ? and status in ('QUEUED', 'RUNNING')")
			.params(node, now, now, id)
			.update();
	}

	void resolved(UUID id, UUID modelId, Integer version) {
		this.jdbc.sql("update evaluations set model_id = ?, model_version = ?, updated_at = ? where id = ?")
			.params(modelId, version, Timestamp.from(Instant.now()), id)
			.update();
	}

	void progress(UUID id, int done, int total) {
		this.jdbc.sql("update evaluations set images_done = ?, images_total = ?, updated_at = ? where id = ?")
			.params(done, total, Timestamp.from(Instant.now()), id)
			.update();
	}

	int succeed(UUID id, String result, String thumbnails, int total) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc.sql("update evaluations set status = 'SUCCEEDED', result = ?, thumbnails = ?, "
				+ "images_done = ?, images_total = ?, finished_at = ?, updated_at = ? where id = ? and status = 'RUNNING'")
			.params(result, thumbnails, total, total, now, now, id)
			.update();
	}

	int fail(UUID id, String message) {
		Timestamp now = Timestamp.from(Instant.now());
		return this.jdbc
			.sql("update evaluations set status = 'FAILED', error_message = ?, finished_at = ?, "
					+ "updated_at = ? where id = ? and status in ('QUEUED', 'RUNNING')")
			.params(message, now, now, id)
			.update();
	}

	int requeue(UUID id) {
		return this.jdbc
			.sql("update evaluations set status = 'QUEUED', updated_at = ? where id = ? and status = 'RUNNING'")
			.params(Timestamp.from(Instant.now()), id)
			.update();
	}

	List<UUID> activeSince(Instant before) {
		return this.jdbc.sql("select id from evaluations where status in ('QUEUED', 'RUNNING') and updated_at < ?")
			.param(Timestamp.from(before))
			.query(UUID.class)
			.list();
	}

	boolean datasetInUse(UUID datasetId) {
		return this.jdbc
			.sql("select count(*) from evaluations where dataset_id = ? and status in ('QUEUED', 'RUNNING')")
			.param(datasetId)
			.query(Long.class)
			.single() > 0;
	}

	List<Object[]> countByStatus() {
		return this.jdbc.sql("select status, count(*) from evaluations group by status")
			.query((rs, i) -> new Object[] { rs.getString(1), rs.getLong(2) })
			.list();
	}

	private static Row row(ResultSet rs, int i) throws SQLException {
		return new Row(rs.getObject("id", UUID.class), rs.getObject("model_id", UUID.class),
				rs.getString("registered_name"), rs.getString("alias"), (Integer) rs.getObject("model_version"),
				rs.getObject("dataset_id", UUID.class), rs.getString("split"),
				WorkStatus.valueOf(rs.getString("status")), rs.getInt("attempts"), rs.getString("node"),
				rs.getInt("images_done"), rs.getInt("images_total"), rs.getString("result"),
				rs.getString("error_message"), instant(rs, "created_at"), instant(rs, "started_at"),
				instant(rs, "finished_at"), instant(rs, "updated_at"));
	}

	static Instant instant(ResultSet rs, String column) throws SQLException {
		Timestamp t = rs.getTimestamp(column);
		return (t != null) ? t.toInstant() : null;
	}

}
