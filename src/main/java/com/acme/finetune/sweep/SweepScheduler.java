package com.acme.finetune.sweep;

import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Advances every running sweep every few seconds on every node. Each advance takes the
 * sweep's row with {@code FOR UPDATE SKIP LOCKED}, so replicas share the work without
 * doubling it, and decides only from the rows, so a restart simply carries on.
 */
@Component
class SweepScheduler implements SmartLifecycle {

	private static final Logger log = LoggerFactory.getLogger(SweepScheduler.class);

	private final SweepEngine engine;

	private final SweepStore store;

	private final SweepProperties properties;

	private volatile ScheduledExecutorService executor;

	SweepScheduler(SweepEngine engine, SweepStore store, SweepProperties properties) {
		this.engine = engine;
		this.store = store;
		this.properties = properties;
	}

	/** Advances one sweep soon (after it was created), off the caller's thread. */
	void kick(UUID sweepId) {
		ScheduledExecutorService current = this.executor;
		if (current != null) {
			current.execute(() -> advance(sweepId));
		}
	}

	private void tick() {
		try {
			for (UUID id : this.store.activeIds()) {
				advance(id);
			}
		}
		catch (RuntimeException ex) {
			log.warn("Sweep scheduling failed: {}", ex.toString());
		}
	}

	private void advance(UUID sweepId) {
		try {
			this.engine.advance(sweepId);
		}
		catch (RuntimeException ex) {
			log.warn("Sweep {} could not be advanced (retried on the next tick): {}", sweepId, ex.toString());
		}
	}

	@Override
	public void start() {
		ScheduledExecutorService started = Executors.newSingleThreadScheduledExecutor((r) -> {
			Thread thread = new Thread(r, "sweep-scheduler");
			thread.setDaemon(true);
			return thread;
		});
		long millis = this.properties.tickInterval().toMillis();
		started.scheduleWithFixedDelay(this::tick, millis, millis, TimeUnit.MILLISECONDS);
		this.executor = started;
	}

	@Override
	public void stop() {
		ScheduledExecutorService current = this.executor;
		this.executor = null;
		if (current != null) {
			current.shutdown();
			try {
				current.awaitTermination(10, TimeUnit.SECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	@Override
	public boolean isRunning() {
		return this.executor != null;
	}

	@Override
	public int getPhase() {
		// stops before the job queue (which stops before the web server and DataSource)
		return Integer.MAX_VALUE - 5;
	}

}
