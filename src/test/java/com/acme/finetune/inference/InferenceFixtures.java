package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStopping;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.Hyperparameters.LrSchedule;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingData.Sample;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.TrainingResult;

/**
 * Real models for inference tests, trained in-process by the training core (faster than a
 * job's child process) and registered in the catalog like a job would.
 */
public final class InferenceFixtures {

	public static final List<String> COLOURS = List.of("red", "green", "blue");

	private InferenceFixtures() {
	}

	private static Path colourModel;

	/**
	 * A from-scratch ResNet-50 at 32 px, trained briefly on colour images; trained once
	 * per test JVM and shared (callers register copies), as training is the slow part.
	 */
	public static synchronized Path colourModel() throws IOException {
		if (colourModel == null) {
			Path work = Files.createTempDirectory("inference-model-");
			Runtime.getRuntime().addShutdownHook(new Thread(() -> {
				try {
					com.acme.finetune.storage.ArtifactStore.deleteRecursively(work);
				}
				catch (IOException ex) {
					// a temporary directory left behind
				}
			}));
			colourModel = trainColourModel(work);
		}
		return colourModel;
	}

	private static Path trainColourModel(Path work) throws IOException {
		TrainingData data = colourData(Files.createDirectories(work.resolve("data")), 4, 1, 32, 3);
		Hyperparameters hp = new Hyperparameters(1, 6, 0.01, Optimizer.ADAM, 0.9, 0.0, LrSchedule.CONSTANT, 32,
				Augmentation.NONE, 0.0, ClassWeights.NONE, 11, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
		TrainingRequest request = new TrainingRequest(new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null),
				Stage.NONE, BatchNormMode.TRAIN, hp, "cpu", work.resolve("model"), null);
		return new FineTuner().train(request, data, null).modelDir();
	}

	/**
	 * The parity model: the fixture TorchScript backbone with every stage frozen and a
	 * head that keeps its seeded initialisation (learning rate 1e-30 changes no float32
	 * weight), which the Python script that wrote the expected numbers reproduces.
	 */
	static Path parityModel(Path work, Path backbone, List<String> labels, long seed) throws IOException {
		List<Sample> train = new ArrayList<>();
		Random random = new Random(seed);
		Path dataDir = Files.createDirectories(work.resolve("parity-data"));
		for (int c = 0; c < labels.size(); c++) {
			for (int i = 0; i < 2; i++) {
				Path file = dataDir.resolve(labels.get(c) + "-" + i + ".png");
				ImageIO.write(noise(40, 40, random), "png", file.toFile());
				train.add(new Sample(file, c));
			}
		}
		Hyperparameters hp = new Hyperparameters(1, 8, 1e-30, Optimizer.SGD, 0.0, 0.0, LrSchedule.CONSTANT, 32,
				Augmentation.NONE, 0.0, ClassWeights.NONE, seed, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
		TrainingRequest request = new TrainingRequest(new BaseModel(BaseModel.Kind.TORCHSCRIPT, "parity", backbone),
				Stage.LAYER4, BatchNormMode.FROZEN, hp, "cpu", work.resolve("parity-model"), work.resolve("cache"));
		TrainingResult result = new FineTuner().train(request,
				new TrainingData("parity", labels, train, train.subList(0, labels.size())), null);
		return result.modelDir();
	}

	/**
	 * Registers a copy of an artifact directory as a new model, as a finished job does.
	 */
	public static UUID register(ModelCatalog catalog, Path artifact, Path work, List<String> labels, String name)
			throws IOException {
		Path copy = work.resolve("copy-" + UUID.randomUUID());
		copyTree(artifact, copy);
		return catalog
			.register(new NewModel(UUID.randomUUID(), name, labels, "resnet50-scratch",
					Map.of("upTo", "none", "batchNorm", "train"), 32, Map.of("valAccuracy", 1.0), 1, 1, copy))
			.id();
	}

	static void copyTree(Path from, Path to) throws IOException {
		Files.createDirectories(to);
		try (Stream<Path> files = Files.list(from)) {
			for (Path f : files.toList()) {
				if (Files.isDirectory(f)) {
					copyTree(f, to.resolve(f.getFileName().toString()));
				}
				else {
					Files.copy(f, to.resolve(f.getFileName().toString()));
				}
			}
		}
	}

	static TrainingData colourData(Path dir, int trainPerClass, int valPerClass, int size, long seed)
			throws IOException {
		Random random = new Random(seed);
		List<Sample> train = new ArrayList<>();
		List<Sample> val = new ArrayList<>();
		for (int c = 0; c < COLOURS.size(); c++) {
			for (int i = 0; i < trainPerClass + valPerClass; i++) {
				Path file = dir.resolve(COLOURS.get(c) + i + ".png");
				ImageIO.write(colour(c, size, size, random), "png", file.toFile());
				((i < trainPerClass) ? train : val).add(new Sample(file, c));
			}
		}
		return new TrainingData("colours-" + seed, COLOURS, train, val);
	}

	/** Noise dominated by one RGB channel (0 red, 1 green, 2 blue). */
	public static BufferedImage colour(int channel, int width, int height, Random random) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int[] rgb = new int[3];
				for (int k = 0; k < 3; k++) {
					rgb[k] = 30 + random.nextInt(60);
				}
				rgb[channel] = 160 + random.nextInt(90);
				image.setRGB(x, y, (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]);
			}
		}
		return image;
	}

	static BufferedImage noise(int width, int height, Random random) {
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				image.setRGB(x, y, random.nextInt(1 << 24));
			}
		}
		return image;
	}

	public static byte[] png(BufferedImage image) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try {
			ImageIO.write(image, "png", out);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return out.toByteArray();
	}

	/** Resident set size of this process (the service runs in it), from the kernel. */
	static long rssBytes() {
		try {
			for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
				if (line.startsWith("VmRSS:")) {
					return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
				}
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		throw new IllegalStateException("No VmRSS in /proc/self/status");
	}

}
