package com.acme.finetune.job;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

/**
 * Delivers a job's JSON to its {@code callbackUrl} when it reaches a terminal status.
 * Runs as its own queued task, so a slow or failing receiver never blocks a worker, and
 * failures are retried with exponential backoff by the queue. The body is signed with
 * HMAC-SHA256 in the {@value #SIGNATURE_HEADER} header ({@code sha256=<hex>}).
 */
@Component
class JobCallbacks {

	static final String SIGNATURE_HEADER = "X-Finetune-Signature";

	private static final Logger log = LoggerFactory.getLogger(JobCallbacks.class);

	private final JobService jobs;

	private final JobProperties properties;

	private final ObjectMapper json;

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

	JobCallbacks(JobService jobs, JobProperties properties, ObjectMapper json) {
		this.jobs = jobs;
		this.properties = properties;
		this.json = json;
	}

	void deliver(String jobId) {
		JobView job = this.jobs.get(UUID.fromString(jobId));
		String url = job.spec().callbackUrl();
		if (url == null) {
			return;
		}
		byte[] body = this.json.writeValueAsBytes(job);
		HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
			.timeout(Duration.ofSeconds(10))
			.header("Content-Type", "application/json")
			.header("X-Finetune-Job-Id", jobId)
			.POST(HttpRequest.BodyPublishers.ofByteArray(body));
		if (!this.properties.callbackSecret().isEmpty()) {
			request.header(SIGNATURE_HEADER, "sha256=" + sign(this.properties.callbackSecret(), body));
		}
		HttpResponse<Void> response;
		try {
			response = this.http.send(request.build(), HttpResponse.BodyHandlers.discarding());
		}
		catch (Exception ex) {
			if (ex instanceof InterruptedException) {
				Thread.currentThread().interrupt();
			}
			throw new IllegalStateException("Callback for job " + jobId + " failed: " + ex, ex);
		}
		if (response.statusCode() / 100 != 2) {
			throw new IllegalStateException("Callback for job " + jobId + " answered " + response.statusCode());
		}
		log.info("Callback for job {} delivered ({})", jobId, response.statusCode());
	}

	static String sign(String secret, byte[] body) {
		try {
			Mac mac = Mac.getInstance("HmacSHA256");
			mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
			return HexFormat.of().formatHex(mac.doFinal(body));
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
