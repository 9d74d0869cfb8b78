package com.acme.finetune.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Requests exactly as given (method, raw path and query, headers, body bytes), for tests
 * that send what well-behaved clients never would.
 */
public final class RawHttp {

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

	private final String base;

	public RawHttp(int port) {
		this.base = "http://localhost:" + port;
	}

	public Response send(String method, String pathAndQuery, Map<String, String> headers, byte[] body) {
		HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(this.base + pathAndQuery))
			.timeout(Duration.ofSeconds(60))
			.method(method, (body != null) ? HttpRequest.BodyPublishers.ofByteArray(body)
					: HttpRequest.BodyPublishers.noBody());
		headers.forEach(builder::header);
		try {
			HttpResponse<String> response = this.http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
			return new Response(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""),
					response.headers().firstValue("Retry-After").orElse(null), response.body());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(method + " " + pathAndQuery + " failed", ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	public Response send(String method, String pathAndQuery, String contentType, String body) {
		return send(method, pathAndQuery, (contentType != null) ? Map.of("Content-Type", contentType) : Map.of(),
				(body != null) ? body.getBytes(StandardCharsets.UTF_8) : null);
	}

	public Response get(String pathAndQuery) {
		return send("GET", pathAndQuery, Map.of(), null);
	}

	/** A reply: status, content type, {@code Retry-After} and the body as text. */
	public record Response(int status, String contentType, String retryAfter, String body) {

		public boolean isProblem() {
			return this.contentType.startsWith("application/problem+json");
		}

		/** The problem type's slug (after the last '/'), or null when there is none. */
		public String problemType() {
			java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"type\"\\s*:\\s*\"[^\"]*/([a-z0-9-]+)\"")
				.matcher(this.body);
			return m.find() ? m.group(1) : null;
		}

		@Override
		public String toString() {
			return this.status + " " + this.contentType + " "
					+ ((this.body.length() > 300) ? this.body.substring(0, 300) + "…" : this.body);
		}

	}

}
