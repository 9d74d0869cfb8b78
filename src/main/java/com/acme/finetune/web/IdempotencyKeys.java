package com.acme.finetune.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code Idempotency-Key} support for writes: the same key with the same request within
 * 24 hours returns the first result instead of creating a second resource; the same key
 * with a different request is refused (422). The key is recorded in the same transaction
 * as the resource, so two concurrent requests with one key create one resource.
 */
@Component
public class IdempotencyKeys {

	public static final String HEADER = "Idempotency-Key";

	static final Duration RETENTION = Duration.ofHours(24);

	private final JdbcClient jdbc;

	private final TransactionTemplate transaction;

	IdempotencyKeys(JdbcClient jdbc, TransactionTemplate transaction) {
		this.jdbc = jdbc;
		this.transaction = transaction;
	}

	/**
	 * Creates a resource once per key.
	 * @param scope the kind of resource (keys are per scope)
	 * @param key the client's key, or null for a plain (non-idempotent) write
	 * @param request what identifies the request (e.g. its canonical body or a content
	 * digest)
	 * @param create creates the resource and returns its id; runs in this method's
	 * transaction
	 * @param load reads a resource by id
	 */
	public <T> T once(String scope, String key, String request, Supplier<UUID> create, Function<UUID, T> load) {
		if (key == null || key.isBlank()) {
			return load.apply(create.get());
		}
		if (key.length() > 200) {
			throw new ApiException(ProblemType.VALIDATION, "Idempotency-Key is longer than 200 characters");
		}
		String hash = sha256(request);
		Optional<UUID> existing = lookup(scope, key, hash);
		if (existing.isPresent()) {
			return load.apply(existing.get());
		}
		try {
			UUID id = this.transaction.execute((status) -> {
				this.jdbc.sql("delete from idempotency_keys where scope = ? and idem_key = ? and created_at < ?")
					.params(scope, key, Timestamp.from(Instant.now().minus(RETENTION)))
					.update();
				UUID created = create.get();
				this.jdbc
					.sql("insert into idempotency_keys (scope, idem_key, request_hash, resource_id, created_at) "
							+ "values (?, ?, ?, ?, ?)")
					.params(scope, key, hash, created, Timestamp.from(Instant.now()))
					.update();
				return created;
			});
			return load.apply(id);
		}
		catch (DataIntegrityViolationException ex) {
			// a concurrent request with the same key won; ours was rolled back
			return load.apply(lookup(scope, key, hash).orElseThrow(() -> ex));
		}
	}

	private Optional<UUID> lookup(String scope, String key, String hash) {
		return this.jdbc
			.sql("select request_hash, resource_id from idempotency_keys where scope = ? and idem_key = ? "
					+ "and created_at >= ?")
			.params(scope, key, Timestamp.from(Instant.now().minus(RETENTION)))
			.query((rs, i) -> {
				if (!hash.equals(rs.getString("request_hash"))) {
					throw new ApiException(ProblemType.IDEMPOTENCY_KEY_REUSED,
							"Idempotency-Key '" + key + "' was already used with a different request");
				}
				return rs.getObject("resource_id", UUID.class);
			})
			.optional();
	}

	public static String sha256(String value) {
		try {
			return HexFormat.of()
				.formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
