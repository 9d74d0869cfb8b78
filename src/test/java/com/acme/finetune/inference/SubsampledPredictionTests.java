package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

import javax.imageio.ImageIO;

import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ModelArtifact.Prediction;
import com.acme.finetune.training.Preprocessing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Decoding with subsampling changes nothing for images up to four times the resize target
 * and little for larger ones: predictions of a real model, and the input tensors of a 224
 * px preprocessing, from the subsampled decode against the full decode.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubsampledPredictionTests {

	private static final Logger log = LoggerFactory.getLogger(SubsampledPredictionTests.class);

	private final ImageDecoder decoder = new ImageDecoder(40_000_000);

	private ModelArtifact model;

	private int target;

	@BeforeAll
	void load() throws Exception {
		this.model = ModelArtifact.load(InferenceFixtures.colourModel(), "cpu");
		this.target = this.model.preprocessing().resizeShorter();
	}

	@AfterAll
	void close() {
		this.model.close();
	}

	@Test
	void imagesUpToFourTimesTheTargetPredictExactlyAsBefore() throws Exception {
		Random random = new Random(7);
		for (int i = 0; i < 6; i++) {
			int shorter = this.target + random.nextInt(3 * this.target);
			BufferedImage image = (i % 2 == 0) ? ImageDecoderTests.scene(shorter * 4 / 3, shorter, i)
					: InferenceFixtures.colour(i % 3, shorter, shorter * 3 / 2, random);
			for (String format : List.of("png", "jpeg")) {
				byte[] data = ImageDecoderTests.bytes(image, format);
				assertThat(probabilities(this.decoder.decode("a", new ByteArrayInputStream(data), this.target)))
					.isEqualTo(probabilities(ImageIO.read(new ByteArrayInputStream(data))));
			}
		}
	}

	/**
	 * The input tensor of a 224 px model (resize 256, centre crop 224) from the
	 * subsampled decode against the full one, in pixel levels (0-255).
	 */
	@Test
	void largeImagesGiveNearlyTheSameInput() throws Exception {
		Preprocessing preprocessing = Preprocessing.imagenet(224);
		int resize = preprocessing.resizeShorter();
		for (int[] size : new int[][] { { 683, 512 }, { 1024, 768 }, { 2000, 1500 }, { 4032, 3024 } }) {
			for (int kind = 0; kind < 2; kind++) {
				BufferedImage image = (kind == 0) ? ImageDecoderTests.scene(size[0], size[1], size[0])
						: InferenceFixtures.noise(size[0], size[1], new Random(size[0]));
				byte[] data = ImageDecoderTests.bytes(image, "jpeg");
				float[] full = tensor(preprocessing, ImageIO.read(new ByteArrayInputStream(data)));
				float[] subsampled = tensor(preprocessing,
						this.decoder.decode("a", new ByteArrayInputStream(data), resize));
				double levels = meanLevels(full, subsampled);
				log.info("{}x{} {}: input differs by {} levels on average", size[0], size[1],
						(kind == 0) ? "scene" : "noise", levels);
				if (Math.min(size[0], size[1]) < 4 * resize) {
					assertThat(levels).isZero();
				}
				else if (kind == 0) {
					// measured 1.7 (2000x1500) and 3.8 (4032x3024)
					assertThat(levels).isLessThan(5.0);
				}
				else {
					// pure pixel noise is the worst case for any subsampling: 12 and 20
					assertThat(levels).isLessThan(25.0);
				}
			}
		}
	}

	private static float[] tensor(Preprocessing preprocessing, BufferedImage image) {
		float[] tensor = new float[3 * preprocessing.imageSize() * preprocessing.imageSize()];
		preprocessing.toTensor(image, tensor, 0);
		return tensor;
	}

	/** Mean absolute difference in 0-255 pixel levels (normalised units × std × 255). */
	private static double meanLevels(float[] a, float[] b) {
		double sum = 0;
		for (int i = 0; i < a.length; i++) {
			sum += Math.abs(a[i] - b[i]) * 0.226 * 255;
		}
		return sum / a.length;
	}

	private Map<String, Double> probabilities(BufferedImage image) throws Exception {
		return this.model.predict(image, 10)
			.stream()
			.collect(Collectors.toMap(Prediction::label, Prediction::probability));
	}

	private static String top(Map<String, Double> probabilities) {
		return probabilities.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
	}

}
