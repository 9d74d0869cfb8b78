package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import javax.imageio.ImageIO;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.PredictionClient.Part;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.web.ProblemType;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Grad-CAM explanations over HTTP: PNG and JSON answers, and the 4xx problems, with a
 * real model, real DJL and PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExplanationApiTests extends AbstractIntegrationTests {

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ObjectMapper json;

	@Autowired
	MeterRegistry meters;

	@LocalServerPort
	int port;

	Path work;

	UUID colourModel;

	byte[] red;

	@BeforeAll
	void registerModel() throws IOException {
		this.work = Files.createTempDirectory("explanation-tests-");
		this.colourModel = InferenceFixtures.register(this.catalog, InferenceFixtures.colourModel(), this.work,
				InferenceFixtures.COLOURS, "colours");
		this.red = InferenceFixtures.png(InferenceFixtures.colour(0, 40, 37, new Random(1)));
	}

	@AfterAll
	void cleanUp() throws IOException {
		com.acme.finetune.storage.ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void answersAPngOverlayOfTheModelInputByDefault() throws IOException {
		HttpResponse<byte[]> reply = post(this.colourModel, null, List.of(Part.image("red.png", this.red)));
		assertThat(reply.statusCode()).isEqualTo(200);
		assertThat(reply.headers().firstValue("Content-Type")).hasValue("image/png");
		BufferedImage png = ImageIO.read(new ByteArrayInputStream(reply.body()));
		// the network's input: 32 px, centre-cropped
		assertThat(png.getWidth()).isEqualTo(32);
		assertThat(png.getHeight()).isEqualTo(32);
		String label = URLDecoder.decode(reply.headers().firstValue(ModelExplanations.LABEL_HEADER).orElseThrow(),
				StandardCharsets.UTF_8);
		assertThat(label).isIn(InferenceFixtures.COLOURS);
		assertThat(Double.parseDouble(reply.headers().firstValue(ModelExplanations.PROBABILITY_HEADER).orElseThrow()))
			.isBetween(0.0, 1.0);
		assertThat(this.meters.get("finetune.explanations").tag("outcome", "ok").counter().count()).isPositive();
		assertThat(this.meters.get("finetune.explanation.latency").timer().count()).isPositive();
	}

	@Test
	void answersJsonWithTheLastStagesHeatMap() throws IOException {
		Map<String, Object> top = body(
				post(this.colourModel, "application/json", List.of(Part.image("red.png", this.red))));
		PredictionClient predictions = new PredictionClient(this.port, this.json);
		Map<String, Double> predicted = predictions.predict(this.colourModel, "red.png", this.red).probabilities(0);
		String best = predicted.keySet().iterator().next();
		assertThat(top.get("label")).isEqualTo(best);
		assertThat(((Number) top.get("probability")).doubleValue()).isCloseTo(predicted.get(best), within(1e-4));
		// 32 px through five stride-2 steps: 1×1
		@SuppressWarnings("unchecked")
		List<List<Number>> heatmap = (List<List<Number>>) top.get("heatmap");
		assertThat(heatmap).hasSize(1);
		assertThat(heatmap.get(0)).hasSize(1);
		assertThat(heatmap.get(0).get(0).doubleValue()).isBetween(0.0, 1.0);
		assertThat(top.get("modelId")).isEqualTo(this.colourModel.toString());

		Map<String, Object> green = body(post(this.colourModel, "image/png;q=0.5, application/json",
				List.of(Part.image("red.png", this.red), Part.field("label", "green"))));
		assertThat(green.get("label")).isEqualTo("green");
		assertThat(((Number) green.get("probability")).doubleValue()).isCloseTo(predicted.get("green"), within(1e-4));
	}

	@Test
	void unknownLabelIsRefusedNamingTheKnownOnes() throws IOException {
		HttpResponse<byte[]> reply = post(this.colourModel, null,
				List.of(Part.image("red.png", this.red), Part.field("label", "purple")));
		Map<String, Object> problem = problem(reply, 400, ProblemType.VALIDATION);
		assertThat(problem.get("knownLabels")).isEqualTo(InferenceFixtures.COLOURS);
		assertThat(problem.get("detail").toString()).contains("purple", "red, green, blue");
	}

	@Test
	void badRequestsGetProblems() throws IOException {
		problem(post(this.colourModel, null,
				List.of(Part.image("notes.txt", "not an image at all".getBytes(StandardCharsets.UTF_8)))), 415,
				ProblemType.UNSUPPORTED_IMAGE);
		problem(post(this.colourModel, null, List.of(Part.field("label", "red"))), 400, ProblemType.VALIDATION);
		problem(post(this.colourModel, null, List.of(Part.image("a.png", this.red), Part.image("b.png", this.red))),
				400, ProblemType.VALIDATION);
		byte[] truncated = java.util.Arrays.copyOf(this.red, this.red.length / 2);
		problem(post(this.colourModel, null, List.of(Part.image("cut.png", truncated))), 422,
				ProblemType.INVALID_IMAGE);
		problem(post(UUID.randomUUID(), null, List.of(Part.image("red.png", this.red))), 404, ProblemType.NOT_FOUND);
	}

	/**
	 * A TorchScript backbone whose features are a scaled pooled layer4 (the parity
	 * fixture): nothing Grad-CAM can attribute, so 422 saying why.
	 */
	@Test
	void backboneThatIsNotAPlainResNetIsNotExplainable() throws IOException {
		Path backbone = this.work.resolve("parity-backbone.pt");
		try (InputStream in = getClass().getResourceAsStream("/fixtures/parity/parity-backbone.pt")) {
			Files.copy(in, backbone);
		}
		List<String> labels = List.of("a", "b");
		Path artifact = InferenceFixtures.parityModel(this.work, backbone, labels, 3);
		UUID model = InferenceFixtures.register(this.catalog, artifact, this.work, labels, "parity");
		Map<String, Object> problem = problem(post(model, null, List.of(Part.image("red.png", this.red))), 422,
				ProblemType.NOT_EXPLAINABLE);
		assertThat(problem.get("detail").toString()).contains("layer4");
		// the model still predicts
		assertThat(new PredictionClient(this.port, this.json).predict(model, "red.png", this.red).status())
			.isEqualTo(200);
	}

	private Map<String, Object> problem(HttpResponse<byte[]> reply, int status, ProblemType type) throws IOException {
		assertThat(reply.statusCode()).as(new String(reply.body(), StandardCharsets.UTF_8)).isEqualTo(status);
		assertThat(reply.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
		Map<String, Object> problem = readJson(reply.body());
		assertThat(problem.get("type")).isEqualTo(type.uri().toString());
		return problem;
	}

	private Map<String, Object> body(HttpResponse<byte[]> reply) throws IOException {
		assertThat(reply.statusCode()).as(new String(reply.body(), StandardCharsets.UTF_8)).isEqualTo(200);
		assertThat(reply.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
		return readJson(reply.body());
	}

	private Map<String, Object> readJson(byte[] body) {
		return this.json.readValue(body, new TypeReference<Map<String, Object>>() {
		});
	}

	private HttpResponse<byte[]> post(UUID model, String accept, List<Part> parts) throws IOException {
		String boundary = "----test" + UUID.randomUUID();
		ByteArrayOutputStream body = new ByteArrayOutputStream();
		for (Part part : parts) {
			body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part.name() + "\""
					+ ((part.filename() != null) ? "; filename=\"" + part.filename() + "\"" : "") + "\r\n"
					+ ((part.filename() != null) ? "Content-Type: application/octet-stream\r\n" : "") + "\r\n")
				.getBytes(StandardCharsets.UTF_8));
			body.write(part.content());
			body.write("\r\n".getBytes(StandardCharsets.UTF_8));
		}
		body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
		HttpRequest.Builder request = HttpRequest
			.newBuilder(URI.create("http://localhost:" + this.port + "/api/v1/models/" + model + "/explanations"))
			.header("Content-Type", "multipart/form-data; boundary=" + boundary)
			.timeout(Duration.ofSeconds(300))
			.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()));
		if (accept != null) {
			request.header("Accept", accept);
		}
		try {
			return this.http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

}
