package com.acme.finetune.web;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import com.acme.finetune.AbstractApiNodeTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Idempotency keys under real concurrency against PostgreSQL: threads racing with one key
 * do the work once; the others get 409 while it runs and its result afterwards.
 */
class IdempotencyKeysTests extends AbstractApiNodeTests {

	@Autowired
	IdempotencyKeys keys;

	@Autowired
	JdbcClient jdbc;

	@Autowired
	TransactionTemplate transaction;

	private final ExecutorService threads = Executors.newCachedThreadPool();

	@AfterEach
	void stopThreads() {
		this.threads.shutdownNow();
	}

	@Test
	void aConcurrentDuplicateGets409WhileTheFirstRunsAndItsResultAfterwards() throws Exception {
		String key = UUID.randomUUID().toString();
		CountDownLatch working = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		AtomicInteger works = new AtomicInteger();
		Future<UUID> first = this.threads.submit(() -> this.keys.once("test", key, "body", (claim) -> {
			works.incrementAndGet();
			// the work runs outside any transaction: nothing holds a connection meanwhile
			assertThat(TransactionSynchronizationManager.isActualTransactionActive()).isFalse();
			working.countDown();
			await(finish);
			return store(claim);
		}, Function.identity()));
		await(working);
		assertThatThrownBy(() -> this.keys.once("test", key, "body", this::fail, Function.identity()))
			.isInstanceOfSatisfying(ApiException.class, (ex) -> {
				assertThat(ex.type()).isEqualTo(ProblemType.CONFLICT);
				assertThat(ex.status().value()).isEqualTo(409);
				assertThat(ex.headers()).containsKey("Retry-After");
			});
		// a different request with the key is refused even while the first runs
		assertThatThrownBy(() -> this.keys.once("test", key, "other body", this::fail, Function.identity()))
			.isInstanceOfSatisfying(ApiException.class,
					(ex) -> assertThat(ex.type()).isEqualTo(ProblemType.IDEMPOTENCY_KEY_REUSED));
		finish.countDown();
		UUID id = first.get(30, TimeUnit.SECONDS);
		assertThat(this.keys.once("test", key, "body", this::fail, Function.identity())).isEqualTo(id);
		assertThat(works).hasValue(1);
	}

	@Test
	void manyThreadsWithOneKeyDoTheWorkOnce() throws Exception {
		String key = UUID.randomUUID().toString();
		int racers = 8;
		CyclicBarrier start = new CyclicBarrier(racers);
		AtomicInteger works = new AtomicInteger();
		List<Future<UUID>> results = new ArrayList<>();
		for (int i = 0; i < racers; i++) {
			results.add(this.threads.submit(() -> {
				start.await();
				return this.keys.once("test", key, "body", (claim) -> {
					works.incrementAndGet();
					sleep(300);
					return store(claim);
				}, Function.identity());
			}));
		}
		List<UUID> ids = new ArrayList<>();
		int conflicts = 0;
		for (Future<UUID> result : results) {
			try {
				ids.add(result.get(30, TimeUnit.SECONDS));
			}
			catch (java.util.concurrent.ExecutionException ex) {
				assertThat(ex.getCause()).isInstanceOfSatisfying(ApiException.class,
						(api) -> assertThat(api.type()).isEqualTo(ProblemType.CONFLICT));
				conflicts++;
			}
		}
		assertThat(works).hasValue(1);
		assertThat(ids).isNotEmpty().allSatisfy((id) -> assertThat(id).isEqualTo(ids.get(0)));
		assertThat(ids.size() + conflicts).isEqualTo(racers);
	}

	@Test
	void aFailedRequestReleasesItsKeySoARetrySucceeds() {
		String key = UUID.randomUUID().toString();
		assertThatThrownBy(() -> this.keys.once("test", key, "body", (claim) -> {
			throw new IllegalStateException("the archive was unreadable");
		}, Function.identity())).hasMessageContaining("unreadable");
		UUID id = this.keys.once("test", key, "body", this::store, Function.identity());
		assertThat(this.keys.once("test", key, "body", this::fail, Function.identity())).isEqualTo(id);
	}

	@Test
	void aResourceRolledBackAfterCompletingLeavesTheKeyFree() {
		String key = UUID.randomUUID().toString();
		assertThatThrownBy(() -> this.keys.once("test", key, "body", (claim) -> this.transaction.execute((tx) -> {
			claim.complete(UUID.randomUUID());
			throw new IllegalStateException("the commit never happens");
		}), Function.identity())).hasMessageContaining("never happens");
		UUID id = this.keys.once("test", key, "body", this::store, Function.identity());
		assertThat(id).isNotNull();
	}

	@Test
	void aClaimWhoseOwnerStoppedRenewingItIsTakenOverAndTheOwnerCannotComplete() throws Exception {
		String key = UUID.randomUUID().toString();
		CountDownLatch working = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		Future<UUID> stalled = this.threads.submit(() -> this.keys.once("test", key, "body", (claim) -> {
			working.countDown();
			await(finish);
			return store(claim);
		}, Function.identity()));
		await(working);
		UUID taken = null;
		for (int attempt = 1; taken == null; attempt++) {
			// as if its node had died: no renewal for longer than the lease
			this.jdbc.sql("update idempotency_keys set lease_renewed_at = ? where scope = 'test' and idem_key = ?")
				.params(Timestamp.from(Instant.now().minus(IdempotencyKeys.LEASE).minusSeconds(5)), key)
				.update();
			try {
				taken = this.keys.once("test", key, "body", this::store, Function.identity());
			}
			catch (ApiException ex) {
				// this context's scheduled renewal (every 15 s) renewed the claim in
				// between: its owner is alive here, so age it again
				if (attempt == 3 || ex.type() != ProblemType.CONFLICT) {
					throw ex;
				}
			}
		}
		finish.countDown();
		assertThatThrownBy(() -> stalled.get(30, TimeUnit.SECONDS)).cause()
			.isInstanceOfSatisfying(ApiException.class, (ex) -> assertThat(ex.type()).isEqualTo(ProblemType.CONFLICT));
		assertThat(this.keys.once("test", key, "body", this::fail, Function.identity())).isEqualTo(taken);
	}

	@Test
	void runningClaimsAreRenewed() throws Exception {
		String key = UUID.randomUUID().toString();
		CountDownLatch working = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		Future<UUID> running = this.threads.submit(() -> this.keys.once("test", key, "body", (claim) -> {
			working.countDown();
			await(finish);
			return store(claim);
		}, Function.identity()));
		await(working);
		Instant old = Instant.now().minus(IdempotencyKeys.LEASE).minusSeconds(5);
		this.jdbc.sql("update idempotency_keys set lease_renewed_at = ? where scope = 'test' and idem_key = ?")
			.params(Timestamp.from(old), key)
			.update();
		this.keys.renewClaims();
		Timestamp renewed = this.jdbc
			.sql("select lease_renewed_at from idempotency_keys where scope = 'test' and idem_key = ?")
			.param(key)
			.query(Timestamp.class)
			.single();
		assertThat(renewed.toInstant()).isAfter(old.plusSeconds(30));
		// so a duplicate still waits for the first request instead of taking over
		assertThatThrownBy(() -> this.keys.once("test", key, "body", this::fail, Function.identity()))
			.isInstanceOfSatisfying(ApiException.class, (ex) -> assertThat(ex.type()).isEqualTo(ProblemType.CONFLICT));
		finish.countDown();
		assertThat(running.get(30, TimeUnit.SECONDS)).isNotNull();
	}

	/** Stores a "resource": completes the claim in a transaction, as services do. */
	private UUID store(IdempotencyKeys.Claim claim) {
		UUID id = UUID.randomUUID();
		this.transaction.executeWithoutResult((tx) -> claim.complete(id));
		return id;
	}

	private UUID fail(IdempotencyKeys.Claim claim) {
		throw new AssertionError("the work ran twice");
	}

	private static void await(CountDownLatch latch) {
		try {
			assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
