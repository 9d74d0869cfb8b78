package com.acme.finetune.training.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import ai.djl.translate.TranslateException;

import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.FreezeSchedule;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.Preprocessing;
import com.acme.finetune.training.StageLearningRates;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingListener;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.TrainingResult;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.training.nn.Classifier;

/**
 * Training recipes against each other on a real labelled image folder
 * ({@code bench/make_digits_imagefolder.py}: train/ and val/ class folders), from
 * scratch, same epochs and seed; and the cost of a checkpoint against its epoch. One JSON
 * line per run.
 *
 * <pre>
 * --data DIR --res 64 --epochs 4 --recipes plain,gradual,decay,warmup
 * --checkpoint-res 224 --checkpoint-batch 16 --checkpoint-images 160 (--recipes checkpoint)
 * --bf16 true (each trained model served in fp32 and in bf16 on every validation image)
 * --precision fp32|bf16|auto (what the runs train in; fp32 by default)
 * </pre>
 */
public final class RecipeBenchmark {

	private RecipeBenchmark() {
	}

	public static void main(String[] args) throws IOException {
		Map<String, String> options = TrainingBenchmark.options(args);
		Path data = Path.of(options.get("data"));
		int res = Integer.parseInt(options.getOrDefault("res", "64"));
		int epochs = Integer.parseInt(options.getOrDefault("epochs", "4"));
		Path work = Files.createTempDirectory("recipe-bench");
		TrainingData digits = imageFolder(data);
		for (String recipe : options.getOrDefault("recipes", "plain,gradual,decay,warmup").split(",")) {
			if (recipe.equals("checkpoint")) {
				checkpointCost(digits, options, work);
				continue;
			}
			Hyperparameters hp = defaults(epochs, 32, res);
			FreezeSchedule schedule = null;
			Stage upTo = Stage.NONE;
			switch (recipe) {
				case "plain" -> {
				}
				case "gradual" -> {
					// ULMFiT-style: head, then layer4, then everything
					upTo = Stage.LAYER4;
					schedule = new FreezeSchedule(List.of(new FreezeSchedule.Phase(0, Stage.LAYER4),
							new FreezeSchedule.Phase(1, Stage.LAYER3), new FreezeSchedule.Phase(2, Stage.NONE)));
				}
				case "decay" -> hp = hp.withStageLearningRates(StageLearningRates.layerDecay(0.5));
				case "warmup" -> hp = hp.withWarmup(1);
				default -> throw new IllegalArgumentException("Unknown recipe " + recipe);
			}
			TrainingRequest request = new TrainingRequest(
					new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null), upTo, BatchNormMode.AUTO, hp,
					"auto", work.resolve(recipe), work.resolve("cache"), schedule, null)
				.withPrecision(options.getOrDefault("precision", "fp32"));
			long start = System.nanoTime();
			TrainingResult result = new FineTuner().train(request, digits, TrainingListener.NONE);
			double seconds = (System.nanoTime() - start) / 1e9;
			EpochMetrics best = result.epochs().get(result.bestEpoch() - 1);
			EpochMetrics last = result.epochs().get(result.epochs().size() - 1);
			System.out.printf(Locale.ROOT,
					"{\"recipe\":\"%s\",\"precision\":\"%s\",\"res\":%d,\"epochs\":%d,\"bestEpoch\":%d,\"bestValAccuracy\":%.4f,"
							+ "\"lastValAccuracy\":%.4f,\"lastTrainLoss\":%.4f,\"wallSeconds\":%.1f}%n",
					recipe, result.precision(), res, epochs, result.bestEpoch(), best.valAccuracy(), last.valAccuracy(),
					last.trainLoss(), seconds);
			if (Boolean.parseBoolean(options.getOrDefault("bf16", "false"))) {
				bf16Agreement(recipe, result.modelDir(), digits);
			}
		}
	}

	/**
	 * The trained model served in fp32 and then in bf16 (as a loaded model chooses it:
	 * only if its probe images agree) on every validation image: top-1 agreement and
	 * accuracy of each.
	 */
	private static void bf16Agreement(String recipe, Path modelDir, TrainingData data) throws IOException {
		List<BufferedImage> images = new ArrayList<>();
		for (TrainingData.Sample sample : data.validation()) {
			images.add(Preprocessing.read(sample.image()));
		}
		try (ModelArtifact artifact = ModelArtifact.load(modelDir, "cpu")) {
			List<String> fp32 = topLabels(artifact, images);
			ServingPrecision.Decision decision = artifact.choosePrecision(ServingPrecision.BF16, null);
			List<String> bf16 = topLabels(artifact, images);
			int agree = 0;
			int fp32Right = 0;
			int bf16Right = 0;
			for (int i = 0; i < images.size(); i++) {
				String truth = data.labels().get(data.validation().get(i).label());
				agree += fp32.get(i).equals(bf16.get(i)) ? 1 : 0;
				fp32Right += fp32.get(i).equals(truth) ? 1 : 0;
				bf16Right += bf16.get(i).equals(truth) ? 1 : 0;
			}
			System.out.printf(Locale.ROOT,
					"{\"measure\":\"bf16-serving\",\"recipe\":\"%s\",\"images\":%d,\"served\":\"%s\",\"top1Agreement\":%.4f,"
							+ "\"fp32Accuracy\":%.4f,\"bf16Accuracy\":%.4f,\"reason\":\"%s\"}%n",
					recipe, images.size(), decision.precision(), (double) agree / images.size(),
					(double) fp32Right / images.size(), (double) bf16Right / images.size(), decision.reason());
		}
		catch (TranslateException ex) {
			throw new IOException(ex);
		}
		forcedBf16Agreement(recipe, modelDir, images);
	}

	/**
	 * bf16 itself, whatever the model chose: every image in bf16 against fp32 (top-1
	 * agreement and the largest change of any probability), the quality the margin rule
	 * guards.
	 */
	static void forcedBf16Agreement(String recipe, Path modelDir, List<BufferedImage> images) throws IOException {
		// a fresh copy: a model serving bf16 keeps no float weights
		try (ModelArtifact artifact = ModelArtifact.load(modelDir, "cpu")) {
			if (artifact.model().getBlock() instanceof Classifier classifier
					&& classifier.addBf16(artifact.model().getNDManager())) {
				forcedBf16Agreement(recipe, artifact, classifier, images);
			}
		}
		catch (TranslateException ex) {
			throw new IOException(ex);
		}
	}

	private static void forcedBf16Agreement(String recipe, ModelArtifact artifact, Classifier classifier,
			List<BufferedImage> images) throws TranslateException {
		List<List<ModelArtifact.Prediction>> fp32 = allProbabilities(artifact, images);
		classifier.useBf16(true);
		List<List<ModelArtifact.Prediction>> bf16 = allProbabilities(artifact, images);
		int agree = 0;
		int over = 0;
		double largest = 0;
		for (int i = 0; i < images.size(); i++) {
			agree += fp32.get(i).get(0).label().equals(bf16.get(i).get(0).label()) ? 1 : 0;
			Map<String, Double> other = new HashMap<>();
			bf16.get(i).forEach((p) -> other.put(p.label(), p.probability()));
			double change = 0;
			for (ModelArtifact.Prediction p : fp32.get(i)) {
				change = Math.max(change, Math.abs(p.probability() - other.getOrDefault(p.label(), 0.0)));
			}
			over += (change > 0.02) ? 1 : 0;
			largest = Math.max(largest, change);
		}
		System.out.printf(Locale.ROOT,
				"{\"measure\":\"bf16-forced\",\"recipe\":\"%s\",\"images\":%d,\"top1Agreement\":%.4f,"
						+ "\"largestProbabilityChange\":%.4f,\"imagesChangedOver0.02\":%d}%n",
				recipe, images.size(), (double) agree / images.size(), largest, over);
	}

	private static List<List<ModelArtifact.Prediction>> allProbabilities(ModelArtifact artifact,
			List<BufferedImage> images) throws TranslateException {
		List<List<ModelArtifact.Prediction>> result = new ArrayList<>();
		for (int i = 0; i < images.size(); i += 32) {
			result.addAll(artifact.predictBatch(images.subList(i, Math.min(images.size(), i + 32)),
					artifact.labels().size()));
		}
		return result;
	}

	private static List<String> topLabels(ModelArtifact artifact, List<BufferedImage> images)
			throws TranslateException {
		List<String> labels = new ArrayList<>();
		for (int i = 0; i < images.size(); i += 32) {
			for (List<ModelArtifact.Prediction> top : artifact
				.predictBatch(images.subList(i, Math.min(images.size(), i + 32)), 1)) {
				labels.add(top.get(0).label());
			}
		}
		return labels;
	}

	/** One full fine-tuning epoch per repetition, with a checkpoint after each. */
	private static void checkpointCost(TrainingData digits, Map<String, String> options, Path work) {
		int res = Integer.parseInt(options.getOrDefault("checkpoint-res", "224"));
		int batch = Integer.parseInt(options.getOrDefault("checkpoint-batch", "16"));
		int images = Integer.parseInt(options.getOrDefault("checkpoint-images", "160"));
		int epochs = Integer.parseInt(options.getOrDefault("checkpoint-epochs", "2"));
		TrainingData subset = new TrainingData(digits.key() + "-" + images, digits.labels(),
				digits.train().subList(0, Math.min(images, digits.train().size())), List.of());
		TrainingRequest request = new TrainingRequest(new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null),
				Stage.NONE, BatchNormMode.AUTO, defaults(epochs, batch, res), "auto", work.resolve("checkpointed"),
				null, null, work.resolve("checkpoints"));
		List<long[]> checkpoints = new ArrayList<>();
		List<Long> epochMillis = new ArrayList<>();
		new FineTuner().train(request, subset, new TrainingListener() {
			@Override
			public void onCheckpoint(int epoch, long millis, long bytes) {
				checkpoints.add(new long[] { epoch, millis, bytes });
			}

			@Override
			public void onEpoch(EpochMetrics metrics) {
				epochMillis.add(metrics.durationMs());
			}
		});
		for (int i = 0; i < checkpoints.size(); i++) {
			long[] c = checkpoints.get(i);
			System.out.printf(Locale.ROOT,
					"{\"measure\":\"checkpoint\",\"res\":%d,\"batch\":%d,\"images\":%d,\"epoch\":%d,\"epochMs\":%d,"
							+ "\"checkpointMs\":%d,\"checkpointMB\":%d,\"share\":%.4f}%n",
					res, batch, subset.train().size(), c[0], epochMillis.get(i), c[1], c[2] >> 20,
					(double) c[1] / epochMillis.get(i));
		}
	}

	private static Hyperparameters defaults(int epochs, int batch, int res) {
		Hyperparameters d = Hyperparameters.defaults();
		return new Hyperparameters(epochs, batch, d.learningRate(), d.optimizer(), d.momentum(), d.weightDecay(),
				d.lrSchedule(), res, d.augmentation(), d.labelSmoothing(), d.classWeights(), d.seed(),
				d.earlyStopping());
	}

	static TrainingData imageFolder(Path root) throws IOException {
		List<String> labels;
		try (Stream<Path> classes = Files.list(root.resolve("train"))) {
			labels = classes.map((p) -> p.getFileName().toString()).sorted().toList();
		}
		return new TrainingData("bench:" + root.toAbsolutePath(), labels, split(root.resolve("train"), labels),
				split(root.resolve("val"), labels));
	}

	private static List<TrainingData.Sample> split(Path dir, List<String> labels) throws IOException {
		List<TrainingData.Sample> samples = new ArrayList<>();
		for (int c = 0; c < labels.size(); c++) {
			try (Stream<Path> files = Files.list(dir.resolve(labels.get(c)))) {
				for (Path f : files.sorted().toList()) {
					samples.add(new TrainingData.Sample(f, c));
				}
			}
		}
		return samples;
	}

}
