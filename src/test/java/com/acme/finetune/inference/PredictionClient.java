package com.acme.finetune.inference;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

/**
 * A thread-safe HTTP client for prediction requests with hand-built multipart bodies, so
 * many test threads can fire requests at once.
 */
final class PredictionClient {

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

	private final String base;

	private final ObjectMapper json;

	PredictionClient(int port, ObjectMapper json) {
		this.base = "http://localhost:" + port;
		this.json = json;
	}

	Reply predict(UUID modelId, List<Part> parts) {
		String boundary = "----test" + UUID.randomUUID();
		ByteArrayOutputStream body = new ByteArrayOutputStream();
		try {
			for (Part part : parts) {
				body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part.name() + "\""
						+ ((part.filename() != null) ? "; filename=\"" + part.filename() + "\"" : "") + "\r\n"
						+ ((part.filename() != null) ? "Content-Type: application/octet-stream\r\n" : "") + "\r\n")
					.getBytes(StandardCharsets.UTF_8));
				body.write(part.content());
				body.write("\r\n".getBytes(StandardCharsets.UTF_8));
			}
			body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
			HttpRequest request = HttpRequest
				.newBuilder(URI.create(this.base + "/api/v1/models/" + modelId + "/predictions"))
				.header("Content-Type", "multipart/form-data; boundary=" + boundary)
				.timeout(Duration.ofSeconds(120))
				.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
				.build();
			HttpResponse<String> response = this.http.send(request, HttpResponse.BodyHandlers.ofString());
			Map<String, Object> map = response.body().isEmpty() ? Map.of()
					: this.json.readValue(response.body(), new TypeReference<Map<String, Object>>() {
					});
			return new Reply(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""),
					response.headers().firstValue("Retry-After").orElse(null), map);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	Reply predict(UUID modelId, String filename, byte[] image) {
		return predict(modelId, List.of(Part.image(filename, image)));
	}

	record Part(String name, String filename, byte[] content) {

		static Part image(String filename, byte[] content) {
			return new Part("image", filename, content);
		}

		static Part field(String name, String value) {
			return new Part(name, null, value.getBytes(StandardCharsets.UTF_8));
		}

	}

	record Reply(int status, String contentType, String retryAfter, Map<String, Object> body) {

		@SuppressWarnings("unchecked")
		List<Map<String, Object>> top(int image) {
			List<Map<String, Object>> predictions = (List<Map<String, Object>>) this.body.get("predictions");
			return (List<Map<String, Object>>) predictions.get(image).get("top");
		}

		String top1(int image) {
			return (String) top(image).get(0).get("label");
		}

		/** Label → probability of one image's top list. */
		Map<String, Double> probabilities(int image) {
			Map<String, Double> result = new java.util.LinkedHashMap<>();
			top(image)
				.forEach((l) -> result.put((String) l.get("label"), ((Number) l.get("probability")).doubleValue()));
			return result;
		}

	}

}
