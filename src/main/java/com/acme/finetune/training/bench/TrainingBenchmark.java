package com.acme.finetune.training.bench;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import ai.djl.pytorch.jni.JniUtils;
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
import com.acme.finetune.training.TrainingCancelledException;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingData.Sample;
import com.acme.finetune.training.TrainingListener;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.TrainingResult;

/**
 * Measures the training core on an ImageFolder, the way the PyTorch reference harness
 * measures the seed's loop (see docs/benchmarks.md):
 * <ul>
 * <li>training images/s per freeze bound (none, layer3, layer4) at the given resolution:
 * the median over timed steps of the real training loop (pre-decoded images, SGD lr 0.001
 * momentum 0.9, batch 16), after warm-up steps; the run is cancelled after the timed
 * steps;</li>
 * <li>the seed's workload: everything frozen but the head, 10 epochs, end to end (decode,
 * features, head training, artifact), first with a cold embedding cache, then warm.</li>
 * </ul>
 * Options: {@code --data DIR} (default: generate 10 classes × 32 JPEGs like
 * make_synthetic_imagefolder.py), {@code --res 224}, {@code --batch 16},
 * {@code --warmup 2}, {@code --iters 8}, {@code --epochs 10},
 * {@code --modes none,layer3,layer4,seed}, {@code --precision fp32|bf16|auto},
 * {@code --profile PREFIX} (writes {@code PREFIX-<mode>.json}, PyTorch's operator trace
 * of the timed steps, for chrome://tracing or Perfetto).
 */
public final class TrainingBenchmark {

	private TrainingBenchmark() {
	}

	/** {@code --precision}: fp32 (default), bf16 or auto. */
	private static String precision = "fp32";

	public static void main(String[] args) throws Exception {
		if (System.getProperty("ai.djl.offline") == null) {
			System.setProperty("ai.djl.offline", "true");
		}
		Map<String, String> options = options(args);
		int res = Integer.parseInt(options.getOrDefault("res", "224"));
		int batch = Integer.parseInt(options.getOrDefault("batch", "16"));
		int warmup = Integer.parseInt(options.getOrDefault("warmup", "2"));
		int iters = Integer.parseInt(options.getOrDefault("iters", "8"));
		int epochs = Integer.parseInt(options.getOrDefault("epochs", "10"));
		List<String> modes = List.of(options.getOrDefault("modes", "none,layer3,layer4,seed").split(","));
		precision = options.getOrDefault("precision", "fp32");
		Path profile = options.containsKey("profile") ? Path.of(options.get("profile")).toAbsolutePath() : null;
		Path work = Files.createTempDirectory("finetune-bench");
		Path dataDir = options.containsKey("data") ? Path.of(options.get("data")) : generate(work.resolve("data"));
		TrainingData data = imageFolder(dataDir);
		System.out.printf(Locale.ROOT, "data=%s images=%d classes=%d res=%d batch=%d%n", dataDir, data.train().size(),
				data.labels().size(), res, batch);
		FineTuner fineTuner = new FineTuner();
		for (String mode : modes) {
			if (mode.equals("seed")) {
				seedWorkload(fineTuner, data, res, batch, epochs, work);
			}
			else {
				stepRate(fineTuner, data, Stage.parse(mode), res, batch, warmup, iters, work, profile);
			}
		}
	}

	private static void stepRate(FineTuner fineTuner, TrainingData data, Stage upTo, int res, int batch, int warmup,
			int iters, Path work, Path profile) {
		List<Double> rates = new ArrayList<>();
		TrainingListener listener = new TrainingListener() {
			@Override
			public void onStep(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
				rates.add(imagesPerSecond);
				if (rates.size() == warmup && profile != null) {
					JniUtils.startProfile(false, true, false);
				}
			}

			@Override
			public boolean isCancelled() {
				return rates.size() >= warmup + iters;
			}
		};
		long start = System.nanoTime();
		long[] cpu = cpuJiffies();
		try {
			// no cache directory: measure the network step itself, also for layer4
			fineTuner.train(request(upTo, res, batch, 1, work.resolve("model-" + upTo.id()), null), data, listener);
		}
		catch (TrainingCancelledException ex) {
			// expected: the timed steps are done
		}
		if (profile != null) {
			// a Chrome trace of PyTorch's operators (with shapes) during the timed steps
			JniUtils.stopProfile(profile.resolveSibling(profile.getFileName() + "-" + upTo.id() + ".json").toString());
		}
		double[] timed = rates.stream().skip(warmup).mapToDouble(Double::doubleValue).sorted().toArray();
		double median = (timed.length % 2 == 1) ? timed[timed.length / 2]
				: (timed[timed.length / 2 - 1] + timed[timed.length / 2]) / 2;
		System.out.printf(Locale.ROOT,
				"{\"mode\":\"train-step\",\"precision\":\"%s\",\"freeze\":\"%s\",\"res\":%d,\"batch\":%d,\"n\":%d,\"img_per_s\":%.2f,"
						+ "\"min\":%.2f,\"max\":%.2f,\"wall_s\":%.1f,\"foreign_cores\":%.2f}%n",
				precision, upTo.id(), res, batch, timed.length, median, timed[0], timed[timed.length - 1],
				(System.nanoTime() - start) / 1e9, foreignCores(cpu, start));
	}

	private static void seedWorkload(FineTuner fineTuner, TrainingData data, int res, int batch, int epochs,
			Path work) {
		Path cache = work.resolve("cache");
		for (String state : List.of("cold", "warm")) {
			long start = System.nanoTime();
			long[] cpu = cpuJiffies();
			TrainingResult result = fineTuner.train(
					request(Stage.LAYER4, res, batch, epochs, work.resolve("seed-" + state), cache), data,
					TrainingListener.NONE);
			double wall = (System.nanoTime() - start) / 1e9;
			System.out.printf(Locale.ROOT,
					"{\"mode\":\"seed-workload\",\"cache\":\"%s\",\"epochs\":%d,\"images\":%d,\"wall_s\":%.2f,"
							+ "\"cache_used\":%s,\"final_train_acc\":%.3f,\"foreign_cores\":%.2f}%n",
					state, result.epochs().size(), data.train().size(), wall, result.embeddingCacheUsed(),
					result.epochs().get(result.epochs().size() - 1).trainAccuracy(), foreignCores(cpu, start));
		}
	}

	/**
	 * Busy jiffies of the whole machine and of this process (Linux /proc), to report how
	 * many cores other processes used while measuring (0 = a clean measurement), like the
	 * reference harness does.
	 */
	private static long[] cpuJiffies() {
		try {
			String[] all = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
			long busy = 0;
			for (int i = 1; i < all.length; i++) {
				busy += (i == 4 || i == 5) ? 0 : Long.parseLong(all[i]);
			}
			String self = Files.readString(Path.of("/proc/self/stat"));
			String[] fields = self.substring(self.lastIndexOf(')') + 2).split(" ");
			return new long[] { busy, Long.parseLong(fields[11]) + Long.parseLong(fields[12]) };
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

	private static double foreignCores(long[] before, long startNanos) {
		long[] after = cpuJiffies();
		if (before == null || after == null) {
			return Double.NaN;
		}
		double seconds = (System.nanoTime() - startNanos) / 1e9;
		// USER_HZ is 100 on Linux
		return ((after[0] - before[0]) - (after[1] - before[1])) / 100.0 / seconds;
	}

	private static TrainingRequest request(Stage upTo, int res, int batch, int epochs, Path out, Path cache) {
		Hyperparameters hp = new Hyperparameters(epochs, batch, 0.001, Optimizer.SGD, 0.9, 0.0, LrSchedule.CONSTANT,
				res, Augmentation.NONE, 0.0, ClassWeights.NONE, 0, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
		return new TrainingRequest(new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null), upTo,
				BatchNormMode.TRAIN, hp, "auto", out, cache)
			.withPrecision(precision);
	}

	/** Every image as training data (the reference harness has no validation split). */
	static TrainingData imageFolder(Path root) throws IOException {
		List<Path> classes;
		try (Stream<Path> dirs = Files.list(root)) {
			classes = dirs.filter(Files::isDirectory).sorted().toList();
		}
		List<String> labels = new ArrayList<>();
		List<Sample> samples = new ArrayList<>();
		for (Path dir : classes) {
			int label = labels.size();
			labels.add(dir.getFileName().toString());
			try (Stream<Path> files = Files.list(dir)) {
				files.filter(Files::isRegularFile).sorted().forEach((f) -> samples.add(new Sample(f, label)));
			}
		}
		return new TrainingData("bench:" + root.toAbsolutePath(), labels, samples, List.of());
	}

	/** 10 classes × 32 JPEGs of 256², class-coloured shapes over dark noise. */
	static Path generate(Path root) throws IOException {
		int[][] palette = { { 230, 25, 75 }, { 60, 180, 75 }, { 255, 225, 25 }, { 0, 130, 200 }, { 245, 130, 48 },
				{ 145, 30, 180 }, { 70, 240, 240 }, { 240, 50, 230 }, { 210, 245, 60 }, { 250, 190, 190 } };
		Random random = new Random(0);
		for (int c = 0; c < 10; c++) {
			Path dir = Files.createDirectories(root.resolve(String.format("class_%02d", c)));
			for (int i = 0; i < 32; i++) {
				BufferedImage image = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
				for (int y = 0; y < 256; y++) {
					for (int x = 0; x < 256; x++) {
						image.setRGB(x, y,
								(random.nextInt(128) << 16) | (random.nextInt(128) << 8) | random.nextInt(128));
					}
				}
				Graphics2D g = image.createGraphics();
				for (int s = 0, n = 3 + random.nextInt(4); s < n; s++) {
					int[] col = Arrays.stream(palette[c])
						.map((v) -> Math.max(0, Math.min(255, v + random.nextInt(61) - 30)))
						.toArray();
					g.setColor(new Color(col[0], col[1], col[2]));
					int x0 = random.nextInt(201);
					int y0 = random.nextInt(201);
					int w = 20 + random.nextInt(101);
					int h = 20 + random.nextInt(101);
					if (random.nextBoolean()) {
						g.fillOval(x0, y0, w, h);
					}
					else {
						g.fillRect(x0, y0, w, h);
					}
				}
				g.dispose();
				ImageIO.write(image, "jpg", dir.resolve(String.format("img_%03d.jpg", i)).toFile());
			}
		}
		return root;
	}

	/** {@code --name value} pairs; the in-process benchmarks share this reading. */
	public static Map<String, String> options(String[] args) {
		Map<String, String> options = new HashMap<>();
		for (int i = 0; i + 1 < args.length; i += 2) {
			if (!args[i].startsWith("--")) {
				throw new IllegalArgumentException("Expected --option value pairs, got " + args[i]);
			}
			options.put(args[i].substring(2), args[i + 1]);
		}
		return options;
	}

}
