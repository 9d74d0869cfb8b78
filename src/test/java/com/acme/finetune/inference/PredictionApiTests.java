package com.acme.finetune.inference;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import com.acme.finetune.AbstractIntegrationTests;
import io.micrometer.core.instrument.MeterRegistry;
import com.acme.finetune.inference.PredictionClient.Part;
import com.acme.finetune.inference.PredictionClient.Reply;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Predictions end to end: a real ResNet-50 trained in-process, real DJL, real PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PredictionApiTests extends AbstractIntegrationTests {

	private static final String PARITY = "/fixtures/parity/";

	@Autowired
	RestTestClient client;

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ModelRegistry registry;

	@Autowired
	ObjectMapper json;

	@Autowired
	MeterRegistry meters;

	@Autowired
	PredictionService service;

	@LocalServerPort
	int port;

	Path work;

	Path colourArtifact;

	UUID colourModel;

	PredictionClient predictions;

	@BeforeAll
	void trainModel() throws IOException {
		this.work = Files.createTempDirectory("inference-tests-");
		this.colourArtifact = InferenceFixtures.colourModel();
		this.colourModel = InferenceFixtures.register(this.catalog, this.colourArtifact, this.work,
				InferenceFixtures.COLOURS, "colours");
		this.predictions = new PredictionClient(this.port, this.json);
	}

	@AfterAll
	void cleanUp() throws IOException {
		com.acme.finetune.storage.ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void predictsTopKWithDefaultsAndCap() {
		byte[] red = InferenceFixtures.png(InferenceFixtures.colour(0, 37, 37, new Random(1)));
		Reply reply = this.predictions.predict(this.colourModel, "red.png", red);
		assertThat(reply.status()).isEqualTo(200);
		assertThat(reply.body().get("modelId")).isEqualTo(this.colourModel.toString());
		assertThat(reply.body().get("latencyMs")).isInstanceOf(Number.class);
		// default 5, capped at the 3 labels; probabilities sorted and summing to 1
		assertThat(reply.top(0)).hasSize(3);
		assertThat(reply.probabilities(0).values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0,
				within(1e-5));
		assertThat(new ArrayList<>(reply.probabilities(0).values()))
			.isSortedAccordingTo((a, b) -> Double.compare(b, a));
		Reply two = this.predictions.predict(this.colourModel,
				List.of(Part.image("a.png", red), Part.image("b.png", red), Part.field("topK", "1")));
		assertThat(two.status()).isEqualTo(200);
		assertThat(two.top(0)).hasSize(1);
		assertThat(two.top(1)).hasSize(1);
		@SuppressWarnings("unchecked")
		List<Map<String, Object>> files = (List<Map<String, Object>>) two.body().get("predictions");
		assertThat(files).extracting((p) -> p.get("file")).containsExactly("a.png", "b.png");
	}

	@Test
	void artifactZipLoadsInPlainDjlAndAgreesWithTheService() throws Exception {
		byte[] zip = this.client.get()
			.uri("/api/v1/models/" + this.colourModel + "/artifact")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentType("application/zip")
			.expectBody(byte[].class)
			.returnResult()
			.getResponseBody();
		Path dir = Files.createDirectories(this.work.resolve("downloaded"));
		try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
			for (ZipEntry e; (e = in.getNextEntry()) != null;) {
				Path target = dir.resolve(e.getName()).normalize();
				assertThat(target.startsWith(dir)).as(e.getName()).isTrue();
				// unpacked as naive tools do: folders only where the zip lists them
				// (probe/ holds the validation images of the bf16 check)
				if (e.isDirectory()) {
					Files.createDirectory(target);
				}
				else {
					Files.copy(in, target);
				}
			}
		}
		assertThat(dir.resolve("synset.txt")).hasContent("red\ngreen\nblue");
		assertThat(Files.readString(dir.resolve("serving.properties"))).contains("resizeShort=37")
			.contains("centerCrop=true");

		// 37 px: the size both sides resize to, so only the crop and normalisation apply
		for (int channel = 0; channel < 3; channel++) {
			byte[] png = InferenceFixtures.png(InferenceFixtures.colour(channel, 37, 37, new Random(channel + 10)));
			Map<String, Double> service = this.predictions.predict(this.colourModel, "x.png", png).probabilities(0);
			// only DJL API from here on: what a client of the artifact would write
			Criteria<Image, Classifications> criteria = Criteria.builder()
				.setTypes(Image.class, Classifications.class)
				.optModelPath(dir)
				.build();
			try (ZooModel<Image, Classifications> model = criteria.loadModel();
					Predictor<Image, Classifications> predictor = model.newPredictor();
					InputStream in = new ByteArrayInputStream(png)) {
				Classifications plain = predictor.predict(ImageFactory.getInstance().fromInputStream(in));
				assertThat(plain.best().getClassName()).isEqualTo(service.keySet().iterator().next());
				for (Classifications.Classification c : plain.topK(3)) {
					assertThat(c.getProbability()).as(c.getClassName())
						.isCloseTo(service.get(c.getClassName()), within(1e-3));
				}
			}
		}
	}

	@Test
	void matchesPyTorchWithinOneThousandth() throws Exception {
		Map<String, Object> expected;
		try (InputStream in = getClass().getResourceAsStream(PARITY + "parity-expected.json")) {
			expected = this.json.readValue(in, new TypeReference<Map<String, Object>>() {
			});
		}
		@SuppressWarnings("unchecked")
		List<String> labels = (List<String>) expected.get("labels");
		Path backbone = this.work.resolve("parity-backbone.pt");
		try (InputStream in = getClass().getResourceAsStream(PARITY + "parity-backbone.pt")) {
			Files.copy(in, backbone);
		}
		Path artifact = InferenceFixtures.parityModel(this.work, backbone, labels,
				((Number) expected.get("seed")).longValue());
		UUID model = InferenceFixtures.register(this.catalog, artifact, this.work, labels, "parity");
		@SuppressWarnings("unchecked")
		Map<String, Map<String, Map<String, Double>>> images = (Map<String, Map<String, Map<String, Double>>>) expected
			.get("images");

		byte[] exact = resource(PARITY + "parity-37x50.png");
		Reply reply = this.predictions.predict(model,
				List.of(Part.image("parity-37x50.png", exact), Part.field("topK", "5")));
		assertThat(reply.status()).isEqualTo(200);
		Map<String, Double> served = reply.probabilities(0);
		Map<String, Double> torch = images.get("parity-37x50.png").get("probabilities");
		assertThat(served.keySet()).containsExactlyInAnyOrderElementsOf(labels);
		double maxDiff = 0;
		for (String label : labels) {
			maxDiff = Math.max(maxDiff, Math.abs(served.get(label) - torch.get(label)));
		}
		LoggerFactory.getLogger(PredictionApiTests.class)
			.info("Parity with PyTorch: service {}, PyTorch {}, max abs diff {}", served, torch, maxDiff);
		assertThat(maxDiff).as("max |service - PyTorch| over %s", labels).isLessThan(1e-3);
		// the service's ranking is PyTorch's ranking
		List<String> torchOrder = new ArrayList<>(torch.keySet());
		torchOrder.sort((a, b) -> Double.compare(torch.get(b), torch.get(a)));
		assertThat(new ArrayList<>(served.keySet())).isEqualTo(torchOrder);

		// an image that needs resizing: Java2D bilinear (after halving) against PIL's
		// antialiased bilinear; same ranking, probabilities close but not bit-equal
		Map<String, Double> resized = this.predictions
			.predict(model, List.of(Part.image("r.png", resource(PARITY + "parity-96x80.png"))))
			.probabilities(0);
		Map<String, Double> torchResized = images.get("parity-96x80.png").get("probabilities");
		LoggerFactory.getLogger(PredictionApiTests.class)
			.info("Resized image: service {}, PyTorch {}", resized, torchResized);
		for (String label : labels) {
			assertThat(resized.get(label)).as(label).isCloseTo(torchResized.get(label), within(1e-2));
		}
	}

	@Test
	void concurrentClientsGetTheirOwnAnswers() throws Exception {
		int distinct = 12;
		List<byte[]> images = new ArrayList<>();
		Map<Integer, Map<String, Double>> reference = new LinkedHashMap<>();
		for (int i = 0; i < distinct; i++) {
			images.add(InferenceFixtures.png(InferenceFixtures.colour(i % 3, 40 + i, 36, new Random(100 + i))));
			Reply single = this.predictions.predict(this.colourModel, "img" + i + ".png", images.get(i));
			assertThat(single.status()).isEqualTo(200);
			reference.put(i, single.probabilities(0));
		}
		ExecutorService clients = Executors.newFixedThreadPool(16);
		try {
			List<Future<Reply>> replies = new ArrayList<>();
			for (int r = 0; r < 200; r++) {
				int i = r % distinct;
				replies.add(clients
					.submit(() -> this.predictions.predict(this.colourModel, "img" + i + ".png", images.get(i))));
			}
			for (int r = 0; r < replies.size(); r++) {
				Reply reply = replies.get(r).get();
				assertThat(reply.status()).as("request %d: %s", r, reply.body()).isEqualTo(200);
				Map<String, Double> expected = reference.get(r % distinct);
				Map<String, Double> actual = reply.probabilities(0);
				assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
				expected.forEach((label, p) -> assertThat(actual.get(label)).isCloseTo(p, within(1e-4)));
			}
		}
		finally {
			clients.shutdownNow();
		}
		// under load the worker really batched: some forward pass saw more than one image
		assertThat(this.meters.get("finetune.inference.batch.size").summary().max()).isGreaterThan(1.0);
		assertThat(this.meters.get("finetune.prediction.latency").timer().count()).isGreaterThanOrEqualTo(200);
		assertThat(this.meters.get("finetune.inference.model.cache").tag("result", "hit").counter().count())
			.isGreaterThanOrEqualTo(200);
	}

	@Test
	void imagesReadersOnlyWarnAboutArePredicted() throws IOException {
		byte[] cmyk = resource("/fixtures/images/cmyk-no-profile.jpg");
		byte[] stray = resource("/fixtures/images/extraneous-bytes.jpg");
		Reply reply = this.predictions.predict(this.colourModel,
				List.of(Part.image("print.jpg", cmyk), Part.image("camera.jpg", stray)));
		assertThat(reply.status()).as("%s", reply.body()).isEqualTo(200);
		assertThat(reply.top(0)).hasSize(3);
		assertThat(reply.top(1)).hasSize(3);
		byte[] cut = java.util.Arrays.copyOf(stray, stray.length * 2 / 3);
		assertProblem(this.predictions.predict(this.colourModel, "cut.jpg", cut), 422, ProblemType.INVALID_IMAGE);
	}

	@Test
	void badRequestsAreProblemsNotServerErrors() {
		Reply notImage = this.predictions.predict(this.colourModel, "notes.txt",
				"hello, not an image".getBytes(StandardCharsets.UTF_8));
		assertProblem(notImage, 415, ProblemType.UNSUPPORTED_IMAGE);
		assertThat(notImage.body().get("errors")).asString().contains("notes.txt");

		byte[] png = InferenceFixtures.png(InferenceFixtures.noise(64, 64, new Random(3)));
		byte[] truncated = java.util.Arrays.copyOf(png, png.length / 2);
		assertProblem(this.predictions.predict(this.colourModel, "half.png", truncated), 422,
				ProblemType.INVALID_IMAGE);

		assertProblem(this.predictions.predict(this.colourModel, "bomb.png", giantPngHeader(100_000, 100_000)), 422,
				ProblemType.IMAGE_TOO_LARGE);

		assertProblem(this.predictions.predict(this.colourModel, List.of(Part.field("topK", "3"))), 400,
				ProblemType.VALIDATION);
		assertProblem(
				this.predictions.predict(this.colourModel, List.of(Part.image("a.png", png), Part.field("topK", "0"))),
				400, ProblemType.VALIDATION);
		assertProblem(this.predictions.predict(UUID.randomUUID(), "a.png", png), 404, ProblemType.NOT_FOUND);
		this.client.get()
			.uri("/api/v1/models/" + UUID.randomUUID() + "/artifact")
			.exchange()
			.expectStatus()
			.isNotFound();
	}

	@Test
	void onlyDocumentedFormatsArePredicted() throws IOException {
		byte[] tiff = ImageDecoderTests.bytes(InferenceFixtures.colour(0, 40, 40, new Random(2)), "tiff");
		for (byte[] image : List.of(tiff, ImageDecoderTests.hostileTiff())) {
			Reply reply = this.predictions.predict(this.colourModel, "scan.tif", image);
			assertProblem(reply, 415, ProblemType.UNSUPPORTED_IMAGE);
			assertThat(reply.body().get("detail")).asString().contains("TIF").contains("JPEG, PNG, BMP, GIF or WebP");
		}
		for (String format : List.of("png", "jpeg", "bmp", "gif")) {
			byte[] image = ImageDecoderTests.bytes(InferenceFixtures.colour(0, 40, 40, new Random(2)), format);
			assertThat(this.predictions.predict(this.colourModel, "a." + format, image).status()).as(format)
				.isEqualTo(200);
		}
		assertThat(
				this.predictions.predict(this.colourModel, "t.webp", resource("/fixtures/images/tiny.webp")).status())
			.isEqualTo(200);
	}

	@Test
	void largeImagesArePredicted() throws IOException {
		byte[] large = ImageDecoderTests.bytes(ImageDecoderTests.scene(2400, 1800, 5), "jpeg");
		Reply reply = this.predictions.predict(this.colourModel, List.of(Part.image("a.jpg", large),
				Part.image("b.jpg", large), Part.image("c.jpg", large), Part.image("d.jpg", large)));
		assertThat(reply.status()).as("%s", reply.body()).isEqualTo(200);
		assertThat(reply.top1(0)).isEqualTo(reply.top1(3));
		// everything reserved for decoded images is given back once the request is
		// answered
		assertThat(this.service.imageMemory().used()).isZero();
	}

	@Test
	void theWorkOfOneRequestIsBounded() {
		// pixels declared by all images together: 6 x 36 MP > 200 MP, refused from the
		// headers before anything is decoded
		byte[] header = giantPngHeader(6000, 6000);
		List<Part> six = java.util.stream.IntStream.range(0, 6)
			.mapToObj((i) -> Part.image(i + ".png", header))
			.toList();
		Reply tooManyPixels = this.predictions.predict(this.colourModel, six);
		assertProblem(tooManyPixels, 413, ProblemType.PAYLOAD_TOO_LARGE);
		assertThat(tooManyPixels.body().get("detail")).asString().contains("216000000 pixels");
		// bytes: refused from Content-Length before the body is read
		Reply tooManyBytes = this.predictions.predict(this.colourModel, "big.png", new byte[65 * 1024 * 1024]);
		assertProblem(tooManyBytes, 413, ProblemType.PAYLOAD_TOO_LARGE);
		assertThat(tooManyBytes.body().get("detail")).asString().contains("bytes per prediction request");
	}

	@Test
	void fullImageMemoryIsBusyWithRetryAfter() {
		byte[] png = InferenceFixtures.png(InferenceFixtures.colour(2, 40, 40, new Random(8)));
		ImageMemory memory = this.service.imageMemory();
		// other requests' decoded images take all but a few bytes
		ImageMemory.Reservation others = memory.tryReserve(memory.capacity() - memory.used() - 100);
		assertThat(others).isNotNull();
		try {
			Reply busy = this.predictions.predict(this.colourModel, "b.png", png);
			assertProblem(busy, 503, ProblemType.SERVICE_BUSY);
			assertThat(busy.retryAfter()).isEqualTo("1");
		}
		finally {
			others.close();
		}
		assertThat(this.predictions.predict(this.colourModel, "b.png", png).status()).isEqualTo(200);
	}

	@Test
	void aDeletedModelStopsServingAndItsFilesAreGone() throws IOException {
		UUID model = InferenceFixtures.register(this.catalog, this.colourArtifact, this.work, InferenceFixtures.COLOURS,
				"to-delete");
		Path dir = this.catalog.artifactDir(model);
		byte[] png = InferenceFixtures.png(InferenceFixtures.colour(1, 36, 36, new Random(5)));
		assertThat(this.predictions.predict(model, "g.png", png).status()).isEqualTo(200);
		assertThat(this.registry.loaded()).extracting(ModelRegistry.LoadedModel::id).contains(model);

		this.client.delete().uri("/api/v1/models/" + model).exchange().expectStatus().isNoContent();

		assertThat(this.registry.loaded()).extracting(ModelRegistry.LoadedModel::id).doesNotContain(model);
		assertThat(dir).doesNotExist();
		assertProblem(this.predictions.predict(model, "g.png", png), 404, ProblemType.NOT_FOUND);
		this.client.get().uri("/api/v1/models/" + model).exchange().expectStatus().isNotFound();
		this.client.get().uri("/api/v1/models/" + model + "/artifact").exchange().expectStatus().isNotFound();
	}

	static void assertProblem(Reply reply, int status, ProblemType type) {
		assertThat(reply.status()).as("%s", reply.body()).isEqualTo(status);
		assertThat(reply.contentType()).startsWith("application/problem+json");
		assertThat(reply.body().get("type")).isEqualTo(type.uri().toString());
	}

	private byte[] resource(String name) throws IOException {
		try (InputStream in = getClass().getResourceAsStream(name)) {
			return in.readAllBytes();
		}
	}

	/** A PNG that is only a valid header declaring a huge image: no pixel data at all. */
	static byte[] giantPngHeader(int width, int height) {
		java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(17);
		ihdr.put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(width).putInt(height);
		ihdr.put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
		java.util.zip.CRC32 crc = new java.util.zip.CRC32();
		crc.update(ihdr.array());
		java.nio.ByteBuffer png = java.nio.ByteBuffer.allocate(8 + 4 + 17 + 4);
		png.put(new byte[] { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' });
		png.putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
		return png.array();
	}

}
