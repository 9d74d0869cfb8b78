package com.acme.finetune.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * {@code Idempotency-Key} support for writes: the same key with the same request within
 * 24 hours returns the first result instead of creating a second resource; the same key
 * with a different request is refused (422).
 * <p>
 * The key is claimed (inserted, unique per scope) before any work is done, in its own
 * short statement: a concurrent request with the same key finds the claim and gets 409
 * {@code conflict} with {@code Retry-After} instead of doing the work a second time. No
 * transaction or connection is held while the work runs (a dataset extraction can take
 * minutes). The claim is completed inside the transaction that creates the resource
 * ({@link Claim#complete}), so a key never points at a resource that was rolled back; a
 * failed request deletes its claim, so a retry can succeed. A claim whose node died stops
 * being renewed and is taken over after {@link #LEASE}.
 */
@Component
public class IdempotencyKeys {

	public static final String HEADER = "Idempotency-Key";

	static final Duration RETENTION = Duration.ofHours(24);

	/** How long a claim lives without renewal before another request may take it over. */
	static final Duration LEASE = Duration.ofSeconds(60);

	/** Seconds a client is told to wait before retrying while the first request runs. */
	static final String RETRY_AFTER_SECONDS = "2";

	private static final Logger log = LoggerFactory.getLogger(IdempotencyKeys.class);

	private final JdbcClient jdbc;

	/** Claims this process holds, renewed by {@link #renewClaims()}. */
	private final Set<UUID> held = ConcurrentHashMap.newKeySet();

	IdempotencyKeys(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	/**
	 * Creates a resource once per key.
	 * @param scope the kind of resource (keys are per scope)
	 * @param key the client's key, or null for a plain (non-idempotent) write
	 * @param request what identifies the request (e.g. its canonical body or a content
	 * digest)
	 * @param create does the work and returns the new resource's id; it runs in no
	 * transaction and must call {@link Claim#complete} inside the transaction that stores
	 * the resource
	 * @param load reads a resource by id
	 * @throws ApiException 409 {@code conflict} while another request with the key is in
	 * progress, 422 when the key was used with a different request
	 */
	public <T> T once(String scope, String key, String request, Function<Claim, UUID> create, Function<UUID, T> load) {
		if (key == null || key.isBlank()) {
			return load.apply(create.apply(Claim.NONE));
		}
		if (key.length() > 200) {
			throw new ApiException(ProblemType.VALIDATION, "Idempotency-Key is longer than 200 characters");
		}
		String hash = sha256(request);
		Claim claim = null;
		for (int attempt = 0; claim == null; attempt++) {
			Optional<Row> existing = read(scope, key);
			if (existing.isPresent()) {
				Row row = existing.get();
				if (!hash.equals(row.requestHash())) {
					throw new ApiException(ProblemType.IDEMPOTENCY_KEY_REUSED,
							"Idempotency-Key '" + key + "' was already used with a different request");
				}
				if (row.resourceId() != null) {
					return load.apply(row.resourceId());
				}
				throw new ApiException(ProblemType.CONFLICT,
						"A request with Idempotency-Key '" + key
								+ "' is still in progress; retry when it has finished to get its result")
					.withHeader("Retry-After", RETRY_AFTER_SECONDS);
			}
			if (attempt == 3) {
				// only reachable when claims keep vanishing between insert and read
				throw new ApiException(ProblemType.CONFLICT, "Idempotency-Key '" + key + "' is contended")
					.withHeader("Retry-After", RETRY_AFTER_SECONDS);
			}
			claim = insert(scope, key, hash);
		}
		this.held.add(claim.owner);
		try {
			UUID id = create.apply(claim);
			if (!claim.completed) {
				claim.complete(id);
			}
			return load.apply(id);
		}
		catch (RuntimeException | Error ex) {
			release(claim);
			throw ex;
		}
		finally {
			this.held.remove(claim.owner);
		}
	}

	/**
	 * The live row for the key; expired rows (a completed key past the retention, or a
	 * claim whose lease ran out) are deleted on the way, so the key can be claimed again.
	 */
	private Optional<Row> read(String scope, String key) {
		Instant now = Instant.now();
		this.jdbc.sql("""
				delete from idempotency_keys where scope = ? and idem_key = ?
				and ((resource_id is not null and created_at < ?) or (resource_id is null and lease_renewed_at < ?))""")
			.params(scope, key, Timestamp.from(now.minus(RETENTION)), Timestamp.from(now.minus(LEASE)))
			.update();
		return this.jdbc.sql("select request_hash, resource_id from idempotency_keys where scope = ? and idem_key = ?")
			.params(scope, key)
			.query((rs, i) -> new Row(rs.getString("request_hash"), rs.getObject("resource_id", UUID.class)))
			.optional();
	}

	/** Inserts a claim; null when a concurrent request inserted one first. */
	private Claim insert(String scope, String key, String hash) {
		Claim claim = new Claim(this.jdbc, scope, key, UUID.randomUUID());
		Timestamp now = Timestamp.from(Instant.now());
		try {
			this.jdbc.sql("""
					insert into idempotency_keys (scope, idem_key, request_hash, resource_id, created_at, lease_owner,
					lease_renewed_at) values (?, ?, ?, null, ?, ?, ?)""")
				.params(scope, key, hash, now, claim.owner, now)
				.update();
			return claim;
		}
		catch (DuplicateKeyException ex) {
			return null;
		}
	}

	/** Deletes a claim that did not complete, so the key can be used again. */
	private void release(Claim claim) {
		try {
			this.jdbc
				.sql("delete from idempotency_keys where scope = ? and idem_key = ? and lease_owner = ? "
						+ "and resource_id is null")
				.params(claim.scope, claim.key, claim.owner)
				.update();
		}
		catch (RuntimeException ex) {
			// the lease runs out instead; the original failure matters more
			log.warn("Could not release Idempotency-Key claim {}/{}", claim.scope, claim.key, ex);
		}
	}

	/** Keeps the claims of requests still running here from being taken over. */
	@Scheduled(fixedDelay = 15_000, initialDelay = 15_000)
	void renewClaims() {
		List<UUID> owners = List.copyOf(this.held);
		if (owners.isEmpty()) {
			return;
		}
		this.jdbc
			.sql("update idempotency_keys set lease_renewed_at = :now where lease_owner in (:owners) "
					+ "and resource_id is null")
			.param("now", Timestamp.from(Instant.now()))
			.param("owners", owners)
			.update();
	}

	/** Deletes keys past their retention, so the table does not grow forever. */
	@Scheduled(fixedDelay = 3_600_000, initialDelay = 60_000)
	void purgeExpired() {
		this.jdbc.sql("delete from idempotency_keys where resource_id is not null and created_at < ?")
			.param(Timestamp.from(Instant.now().minus(RETENTION)))
			.update();
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

	private record Row(String requestHash, UUID resourceId) {
	}

	/** A request's hold on an idempotency key while it creates the resource. */
	public static final class Claim {

		/** The claim of a write without a key: completing it records nothing. */
		static final Claim NONE = new Claim(null, null, null, null);

		private final JdbcClient jdbc;

		private final String scope;

		private final String key;

		private final UUID owner;

		private boolean completed;

		private Claim(JdbcClient jdbc, String scope, String key, UUID owner) {
			this.jdbc = jdbc;
			this.scope = scope;
			this.key = key;
			this.owner = owner;
		}

		/**
		 * Records the resource under the key. Call it inside the transaction that stores
		 * the resource, so that both commit or neither does.
		 * @throws ApiException 409 when the claim was lost (it was not renewed and
		 * another request took the key over): the caller's transaction must roll back
		 */
		public void complete(UUID resourceId) {
			if (this.jdbc == null) {
				return;
			}
			int updated = this.jdbc
				.sql("update idempotency_keys set resource_id = ?, lease_owner = null, lease_renewed_at = null "
						+ "where scope = ? and idem_key = ? and lease_owner = ? and resource_id is null")
				.params(resourceId, this.scope, this.key, this.owner)
				.update();
			if (updated != 1) {
				throw new ApiException(ProblemType.CONFLICT,
						"Idempotency-Key '" + this.key + "' was taken over by another request");
			}
			this.completed = true;
		}

	}

}
