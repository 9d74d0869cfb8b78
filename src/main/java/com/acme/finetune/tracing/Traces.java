package com.acme.finetune.tracing;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Spans for work outside a request, through Micrometer tracing (the OpenTelemetry bridge
 * in this application), and the W3C {@code traceparent} of a span, to carry a trace
 * through the job queue, into the training process and onto webhook deliveries. Without a
 * tracer (tracing switched off) every span is a no-op and there is no
 * {@code traceparent}.
 */
@Component
public class Traces {

	/** The W3C Trace Context header. */
	public static final String TRACEPARENT = "traceparent";

	/** Traces switched off: no-op spans, no {@code traceparent}. */
	public static final Traces NONE = new Traces(Tracer.NOOP, Propagator.NOOP);

	private final Tracer tracer;

	private final Propagator propagator;

	@Autowired
	Traces(ObjectProvider<Tracer> tracer, ObjectProvider<Propagator> propagator) {
		this(tracer.getIfAvailable(() -> Tracer.NOOP), propagator.getIfAvailable(() -> Propagator.NOOP));
	}

	Traces(Tracer tracer, Propagator propagator) {
		this.tracer = tracer;
		this.propagator = propagator;
	}

	/**
	 * Starts a span that continues the trace of a {@code traceparent}, or a new trace
	 * when there is none (or it cannot be read).
	 */
	public Span start(String name, @Nullable String traceparent) {
		Span.Builder builder = (traceparent != null && !traceparent.isBlank())
				? this.propagator.extract(Map.of(TRACEPARENT, traceparent), (carrier, key) -> carrier.get(key))
				: this.tracer.spanBuilder().setNoParent();
		return builder.name(name).start();
	}

	/**
	 * Records a span that has already happened, as a child of {@code parent}: work timed
	 * elsewhere (an epoch in the training process) and reported when done.
	 */
	public void record(String name, Span parent, long startEpochMillis, long endEpochMillis, Map<String, String> tags) {
		Span span = this.tracer.spanBuilder()
			.setParent(parent.context())
			.name(name)
			.startTimestamp(startEpochMillis, TimeUnit.MILLISECONDS)
			.start();
		tags.forEach(span::tag);
		span.end(endEpochMillis, TimeUnit.MILLISECONDS);
	}

	/** Makes a span current (trace ids in the logs, parent of new spans) until closed. */
	public Tracer.SpanInScope inScope(Span span) {
		return this.tracer.withSpan(span);
	}

	/** The {@code traceparent} of a span, or null when it has none (no-op). */
	public @Nullable String traceparent(Span span) {
		if (span.isNoop()) {
			return null;
		}
		Map<String, String> carrier = new HashMap<>();
		this.propagator.inject(span.context(), carrier, (map, key, value) -> {
			if (map != null) {
				map.put(key, value);
			}
		});
		return carrier.get(TRACEPARENT);
	}

	/** The {@code traceparent} of the current span, or null when none is current. */
	public @Nullable String currentTraceparent() {
		Span current = this.tracer.currentSpan();
		return (current != null) ? traceparent(current) : null;
	}

}
