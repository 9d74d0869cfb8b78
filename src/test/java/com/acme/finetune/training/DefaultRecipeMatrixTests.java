package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every base model kind × every freeze bound, everything else at its default
 * ({@code batchNorm: auto}, SGD 0.001 momentum 0.9, batch 32), must train without
 * diverging on real handwritten digits (the scans python3-sklearn ships, upscaled to 32
 * px by {@code bench/make_digits_imagefolder.py}; 80 training and 20 validation images).
 * Small: 2 epochs at 32 px.
 */
class DefaultRecipeMatrixTests {

	@TempDir
	static Path dir;

	static TrainingData digits;

	static List<BaseModel> bases = new ArrayList<>();

	@BeforeAll
	static void prepare() throws IOException {
		digits = digits(TrainingFixtures.fixture("digits"));
		bases.add(TrainingFixtures.SCRATCH);
		bases.add(TrainingFixtures.partialBackbone());
		// the ImageNet base, with a traced torchvision-named miniature standing in for
		// the zoo file (no download here)
		Path store = Files.createDirectories(dir.resolve("imagenet"));
		Files.copy(TrainingFixtures.fixture("tiny-resnet-classifier.pt"), store.resolve("traced_resnet50.pt"));
		bases.add(new BaseModel(BaseModel.Kind.IMAGENET, "resnet50-imagenet", store));
		// model:<id>: a model fine-tuned from scratch, continued with the same labels
		Hyperparameters quick = TrainingFixtures.hyperparameters(1, 32, 0.001, Optimizer.SGD);
		TrainingResult earlier = new FineTuner().train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.AUTO, quick, dir.resolve("earlier"), null), digits, TrainingListener.NONE);
		bases.add(new BaseModel(BaseModel.Kind.FINETUNED, "model:earlier", earlier.modelDir()));
	}

	@Test
	void everyBaseAndFreezeBoundTrainsWithTheDefaults() {
		Hyperparameters defaults = Hyperparameters.defaults();
		Hyperparameters hp = new Hyperparameters(2, defaults.batchSize(), defaults.learningRate(), defaults.optimizer(),
				defaults.momentum(), defaults.weightDecay(), defaults.lrSchedule(), 32, defaults.augmentation(),
				defaults.labelSmoothing(), defaults.classWeights(), defaults.seed(), defaults.earlyStopping());
		List<String> failures = new ArrayList<>();
		for (BaseModel base : bases) {
			for (Stage upTo : Stage.values()) {
				String name = base.id() + " upTo " + upTo.id();
				try {
					TrainingResult result = new FineTuner().train(new TrainingRequest(base, upTo, BatchNormMode.AUTO,
							hp, "cpu", dir.resolve("m").resolve(base.id().replace(':', '-') + "-" + upTo.id()),
							dir.resolve("cache")), digits, TrainingListener.NONE);
					for (EpochMetrics m : result.epochs()) {
						// chance is ln 10 = 2.3; a run blowing up lands far above it
						if (!(m.trainLoss() < 5) || !(m.valLoss() < 5)) {
							failures
								.add(name + ": epoch " + m.epoch() + " losses " + m.trainLoss() + " / " + m.valLoss());
						}
					}
				}
				catch (RuntimeException ex) {
					failures.add(name + ": " + ex.getMessage());
				}
			}
		}
		assertThat(failures).isEmpty();
	}

	/** An image folder with train/ and val/ class folders. */
	static TrainingData digits(Path root) throws IOException {
		List<String> labels;
		try (Stream<Path> classes = Files.list(root.resolve("train"))) {
			labels = classes.map((p) -> p.getFileName().toString()).sorted().toList();
		}
		return new TrainingData("digits:" + root, labels, split(root.resolve("train"), labels),
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
