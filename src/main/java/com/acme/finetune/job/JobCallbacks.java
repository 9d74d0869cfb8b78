package com.acme.finetune.job;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import com.acme.finetune.tracing.Traces;
import com.acme.finetune.webhook.WebhookRefusedException;
import com.acme.finetune.webhook.Webhooks;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

/**
 * Delivers a job's JSON to its {@code callbackUrl} when it reaches a terminal status, as
 * a Standard Webhooks message (see {@link Webhooks}) signed with
 * {@code app.jobs.callback-secret}. Runs as its own queued task, so a slow or failing
 * receiver never blocks a worker, and failures are retried with exponential backoff by
 * the queue, each attempt with the message's one {@code webhook-id} and a fresh
 * timestamp. A target the SSRF policy refuses at delivery time is not retried. Each
 * attempt is a {@code webhook delivery} span in the trace of the job attempt that queued
 * it, and sends that span's {@code traceparent}.
 */
@Component
class JobCallbacks {

	private static final Logger log = LoggerFactory.getLogger(JobCallbacks.class);

	private final JobService jobs;

	private final Webhooks webhooks;

	private final ObjectMapper json;

	private final byte[] key;

	private final Traces traces;

	JobCallbacks(JobService jobs, JobProperties properties, Webhooks webhooks, ObjectMapper json, Traces traces) {
		this.jobs = jobs;
		this.traces = traces;
		this.webhooks = webhooks;
		this.json = json;
		// a malformed whsec_ secret stops the start, not the first delivery
		this.key = Webhooks.signingKey(properties.callbackSecret());
		if (this.key == null) {
			log.warn("app.jobs.callback-secret is empty: job callbacks are sent unsigned");
		}
	}

	/**
	 * Delivers one attempt.
	 * @param message the queued message ({@link JobQueue#enqueueCallback})
	 */
	void deliver(Message message) {
		Span delivery = this.traces.start("webhook delivery", message.traceparent())
			.tag("job.id", message.jobId().toString())
			.tag("webhook.id", message.webhookId());
		try (Tracer.SpanInScope scope = this.traces.inScope(delivery)) {
			send(message);
		}
		catch (RuntimeException ex) {
			delivery.error(ex);
			throw ex;
		}
		finally {
			delivery.end();
		}
	}

	private void send(Message message) {
		JobView job = this.jobs.get(message.jobId());
		String url = job.spec().callbackUrl();
		if (url == null) {
			return;
		}
		byte[] body = this.json.writeValueAsBytes(job);
		int status;
		try {
			status = this.webhooks.post(url, message.webhookId(), body, this.key);
		}
		catch (WebhookRefusedException ex) {
			log.warn("Callback for job {} not sent: its callbackUrl {}", message.jobId(), ex.getMessage());
			return;
		}
		catch (IOException ex) {
			throw new IllegalStateException("Callback for job " + message.jobId() + " failed: " + ex, ex);
		}
		if (status / 100 != 2) {
			throw new IllegalStateException("Callback for job " + message.jobId() + " answered " + status);
		}
		log.info("Callback {} for job {} delivered ({})", message.webhookId(), message.jobId(), status);
	}

	/**
	 * A callback message: the job, the {@code webhook-id} every attempt carries and the
	 * {@code traceparent} of the job attempt that queued it (null when none).
	 */
	record Message(UUID jobId, String webhookId, String traceparent) {

		static Message create(UUID jobId, String traceparent) {
			return new Message(jobId, "msg_" + UUID.randomUUID().toString().replace("-", ""), traceparent);
		}

		/**
		 * Reads the task data ({@code <jobId> <webhookId> [<traceparent>]}); data queued
		 * before message ids existed is the job id alone, and gets an id derived from the
		 * task instance, stable across its retries.
		 */
		static Message parse(String instanceId, String data) {
			String[] parts = data.split(" ", 3);
			String webhookId = (parts.length >= 2) ? parts[1] : "msg_"
					+ UUID.nameUUIDFromBytes(instanceId.getBytes(StandardCharsets.UTF_8)).toString().replace("-", "");
			String traceparent = (parts.length == 3 && !parts[2].isBlank()) ? parts[2] : null;
			return new Message(UUID.fromString(parts[0]), webhookId, traceparent);
		}

		String data() {
			return this.jobId + " " + this.webhookId + ((this.traceparent != null) ? " " + this.traceparent : "");
		}

	}

}
