package com.acme.finetune.job;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import tools.jackson.databind.ObjectMapper;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The append-only event log of each job ({@code status}, {@code progress}, {@code epoch},
 * {@code done}). Events live in the database, so an SSE client connected to any replica
 * sees every event, and a reconnect with {@code Last-Event-ID} replays what it missed.
 */
@Component
class JobEvents {

	static final String STATUS = "status";

	static final String PROGRESS = "progress";

	static final String EPOCH = "epoch";

	static final String DONE = "done";

	private final JdbcClient jdbc;

	private final ObjectMapper json;

	JobEvents(JdbcClient jdbc, ObjectMapper json) {
		this.jdbc = jdbc;
		this.json = json;
	}

	void append(UUID jobId, String type, Object data) {
		this.jdbc.sql("insert into job_events (job_id, type, data, created_at) values (?, ?, ?, ?)")
			.params(jobId, type, this.json.writeValueAsString(data), Timestamp.from(Instant.now()))
			.update();
	}

	List<Event> after(UUID jobId, long afterId, int limit) {
		return this.jdbc
			.sql("select id, type, data from job_events where job_id = ? and id > ? order by id limit " + limit)
			.params(jobId, afterId)
			.query((rs, i) -> new Event(rs.getLong("id"), rs.getString("type"), rs.getString("data")))
			.list();
	}

	record Event(long id, String type, String data) {
	}

}
