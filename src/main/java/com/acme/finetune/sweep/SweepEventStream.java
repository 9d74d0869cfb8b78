package com.acme.finetune.sweep;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * Server-Sent Events for sweeps, as for jobs: {@code status}, {@code trial} (a trial
 * submitted), {@code decision} (an early-termination decision at a rung), {@code budget},
 * {@code refit}, {@code done}. Each subscriber is a cursor into the sweep's event log in
 * the database, so {@code Last-Event-ID} resumes exactly after the last event seen on any
 * replica; the stream ends after {@code done}.
 */
@Component
class SweepEventStream {

	private static final Logger log = LoggerFactory.getLogger(SweepEventStream.class);

	private static final long POLL_MILLIS = 300;

	private static final long HEARTBEAT_MILLIS = 15_000;

	private static final long TIMEOUT_MILLIS = 60 * 60 * 1000L;

	private final SweepStore events;

	private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();

	private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor((r) -> {
		Thread thread = new Thread(r, "sweep-events");
		thread.setDaemon(true);
		return thread;
	});

	SweepEventStream(SweepStore events) {
		this.events = events;
		this.poller.scheduleWithFixedDelay(this::pollAll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
	}

	SseEmitter subscribe(UUID sweepId, long lastEventId) {
		SseEmitter emitter = new SseEmitter(TIMEOUT_MILLIS);
		Subscriber subscriber = new Subscriber(sweepId, emitter, lastEventId);
		emitter.onCompletion(() -> this.subscribers.remove(subscriber));
		emitter.onTimeout(() -> {
			this.subscribers.remove(subscriber);
			emitter.complete();
		});
		emitter.onError((ex) -> this.subscribers.remove(subscriber));
		this.subscribers.add(subscriber);
		this.poller.execute(() -> poll(subscriber));
		return emitter;
	}

	private void pollAll() {
		for (Subscriber subscriber : this.subscribers) {
			poll(subscriber);
		}
	}

	private void poll(Subscriber s) {
		if (s.closed) {
			return;
		}
		try {
			List<SweepStore.Event> batch = this.events.events(s.sweepId, s.lastId, 500);
			for (SweepStore.Event event : batch) {
				s.emitter.send(SseEmitter.event()
					.id(Long.toString(event.id()))
					.name(event.type())
					.data(event.data(), MediaType.APPLICATION_JSON));
				s.lastId = event.id();
				s.lastSent = System.currentTimeMillis();
				if ("done".equals(event.type())) {
					close(s);
					return;
				}
			}
			if (System.currentTimeMillis() - s.lastSent > HEARTBEAT_MILLIS) {
				// a comment line keeps proxies from closing an idle stream
				s.emitter.send(SseEmitter.event().comment("keep-alive"));
				s.lastSent = System.currentTimeMillis();
			}
		}
		catch (IOException | IllegalStateException ex) {
			close(s);
		}
		catch (RuntimeException ex) {
			log.warn("Event stream for sweep {} failed: {}", s.sweepId, ex.toString());
			s.emitter.completeWithError(ex);
			close(s);
		}
	}

	private void close(Subscriber s) {
		s.closed = true;
		this.subscribers.remove(s);
		try {
			s.emitter.complete();
		}
		catch (RuntimeException ex) {
			// already completed
		}
	}

	@PreDestroy
	void shutdown() {
		this.subscribers.forEach(this::close);
		this.poller.shutdownNow();
	}

	private static final class Subscriber {

		final UUID sweepId;

		final SseEmitter emitter;

		volatile long lastId;

		volatile long lastSent = System.currentTimeMillis();

		volatile boolean closed;

		Subscriber(UUID sweepId, SseEmitter emitter, long lastId) {
			this.sweepId = sweepId;
			this.emitter = emitter;
			this.lastId = lastId;
		}

	}

}
