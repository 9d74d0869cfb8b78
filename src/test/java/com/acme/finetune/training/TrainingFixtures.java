package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import javax.imageio.ImageIO;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStopping;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.Hyperparameters.LrSchedule;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingData.Sample;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.nn.Classifier;

import static org.assertj.core.api.Assertions.assertThat;

/** Small generated datasets and requests: tests must stay fast on a 2-core machine. */
final class TrainingFixtures {

	static final List<String> COLOURS = List.of("red", "green", "blue");

	static final BaseModel SCRATCH = new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null);

	private TrainingFixtures() {
	}

	/**
	 * Noisy images dominated by one colour channel per class (learnable even by a random
	 * backbone's features), as PNG files of {@code size}² (slightly wider, to exercise
	 * the resize).
	 */
	static TrainingData colours(Path dir, int trainPerClass, int valPerClass, int size, long seed) throws IOException {
		Random random = new Random(seed);
		List<Sample> train = new ArrayList<>();
		List<Sample> val = new ArrayList<>();
		for (int c = 0; c < COLOURS.size(); c++) {
			Path classDir = Files.createDirectories(dir.resolve(COLOURS.get(c)));
			for (int i = 0; i < trainPerClass + valPerClass; i++) {
				Path file = classDir.resolve("img" + i + ".png");
				ImageIO.write(image(c, size + size / 4, size, random), "png", file.toFile());
				((i < trainPerClass) ? train : val).add(new Sample(file, c));
			}
		}
		return new TrainingData("colours-" + seed + "-" + size, COLOURS, train, val);
	}

	static BufferedImage image(int colour, int width, int height, Random random) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int[] rgb = new int[3];
				for (int k = 0; k < 3; k++) {
					rgb[k] = 40 + random.nextInt(60);
				}
				rgb[colour] = 150 + random.nextInt(100);
				image.setRGB(x, y, (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]);
			}
		}
		return image;
	}

	static Hyperparameters hyperparameters(int epochs, int batchSize, double lr, Optimizer optimizer) {
		return new Hyperparameters(epochs, batchSize, lr, optimizer, 0.9, 0.0, LrSchedule.CONSTANT, 32,
				Augmentation.NONE, 0.0, ClassWeights.NONE, 7, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
	}

	static TrainingRequest request(BaseModel base, Stage upTo, BatchNormMode batchNorm, Hyperparameters hp, Path out,
			Path cache) {
		return new TrainingRequest(base, upTo, batchNorm, hp, "cpu", out, cache);
	}

	/** A traced feature extractor with stem, layer1 and layer2 only (16-d output). */
	static BaseModel partialBackbone() {
		return new BaseModel(BaseModel.Kind.TORCHSCRIPT, "tiny-partial", fixture("tiny-backbone-partial.pt"));
	}

	static Path fixture(String name) {
		try {
			return Path.of(TrainingFixtures.class.getResource("/fixtures/" + name).toURI());
		}
		catch (java.net.URISyntaxException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** Copies of every parameter (running statistics included), keyed by stage/name. */
	static Map<String, float[]> snapshot(Classifier network) {
		Map<String, float[]> values = new HashMap<>();
		for (Pair<String, Block> child : network.getChildren()) {
			for (Pair<String, Parameter> p : child.getValue().getParameters()) {
				// DJL prefixes child names with their position ("03layer2")
				values.put(child.getKey().substring(2) + "/" + p.getKey(), p.getValue().getArray().toFloatArray());
			}
		}
		return values;
	}

	/**
	 * Sets every BatchNorm's affine parameters and running statistics far from their
	 * defaults (γ, σ² in [0.5, 2), β, μ in [-1, 1)), so folding and layout tests see
	 * non-trivial BatchNorms.
	 */
	static void randomiseBatchNorm(Block block, NDManager manager) {
		for (Pair<String, Parameter> p : block.getParameters()) {
			NDArray array = p.getValue().getArray();
			switch (p.getValue().getType()) {
				case GAMMA, RUNNING_VAR -> array.set(manager.randomUniform(0.5f, 2f, array.getShape()).toFloatArray());
				case BETA, RUNNING_MEAN -> array.set(manager.randomUniform(-1f, 1f, array.getShape()).toFloatArray());
				default -> {
				}
			}
		}
	}

	/**
	 * {@code actual} equals non-trivial {@code expected} within 1e-4 of its largest
	 * magnitude (at least 1).
	 */
	static void assertClose(float[] actual, float[] expected) {
		assertThat(actual).hasSameSizeAs(expected);
		float scale = 0;
		float diff = 0;
		for (int i = 0; i < expected.length; i++) {
			scale = Math.max(scale, Math.abs(expected[i]));
			diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
		}
		assertThat(scale).as("outputs are not trivial").isGreaterThan(1e-3f);
		assertThat(diff).isLessThanOrEqualTo(1e-4f * Math.max(1f, scale));
	}

}
