package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A scratch ResNet-50's BatchNorm placeholders (mean 0, variance 1) normalise nothing;
 * stages that stay frozen get statistics from the training images first.
 */
class BatchNormCalibrationTests {

	@TempDir
	static Path shared;

	static TrainingData data;

	@TempDir
	Path out;

	@BeforeAll
	static void data() throws IOException {
		data = TrainingFixtures.colours(shared.resolve("data"), 8, 4, 32, 3);
	}

	@Test
	void calibratedStatisticsAreTheBatchesStatistics() {
		try (NDManager manager = NDManager.newBaseManager()) {
			NDArray x = manager.randomNormal(new Shape(8, 3, 128, 128)).add(0.5f);
			ResNet50Block network = scratch(manager);
			ParameterStore store = new ParameterStore(manager, false);
			NDArray trainingMode = trainingModeFeatures(network, store, x);
			NDArray placeholders = network.features(store, new NDList(x)).singletonOrThrow();

			assertThat(network.calibrateBatchNorm(store, new Batches(x.duplicate()), Stage.LAYER4, () -> false))
				.isTrue();

			// inference now normalises as training mode does on that batch (not exactly:
			// the running variance is the unbiased estimate)
			NDArray calibrated = network.features(store, new NDList(x)).singletonOrThrow();
			assertThat(relativeDifference(calibrated, trainingMode)).isLessThan(0.1f);
			// the placeholders compute something else entirely
			assertThat(relativeDifference(placeholders, trainingMode)).isGreaterThan(1f);
			assertThat(meanMagnitude(calibrated)).isBetween(0.2f, 3f);
		}
	}

	@Test
	void batchesCountEquallyWhateverTheirOrder() {
		try (NDManager manager = NDManager.newBaseManager()) {
			NDArray a = manager.randomNormal(new Shape(4, 3, 64, 64));
			NDArray b = manager.randomNormal(new Shape(4, 3, 64, 64)).mul(3f).add(1f);
			ResNet50Block ab = scratch(manager);
			ResNet50Block ba = scratch(manager);
			ParameterStore store = new ParameterStore(manager, false);
			ab.calibrateBatchNorm(store, new Batches(a.duplicate(), b.duplicate()), Stage.LAYER4, () -> false);
			ba.calibrateBatchNorm(store, new Batches(b.duplicate(), a.duplicate()), Stage.LAYER4, () -> false);
			// an exponential moving average would weigh the last batch most
			Map<String, float[]> first = TrainingFixtures.snapshot(ab);
			Map<String, float[]> second = TrainingFixtures.snapshot(ba);
			first.forEach((name, values) -> {
				if (name.contains("running")) {
					TrainingFixtures.assertClose(second.get(name), values);
				}
			});
		}
	}

	@Test
	void cancellationStopsTheCalibration() {
		try (NDManager manager = NDManager.newBaseManager()) {
			ResNet50Block network = scratch(manager);
			NDArray x = manager.randomNormal(new Shape(2, 3, 32, 32));
			assertThat(network.calibrateBatchNorm(new ParameterStore(manager, false), new Batches(x), Stage.LAYER4,
					() -> true))
				.isFalse();
		}
	}

	private static ResNet50Block scratch(NDManager manager) {
		Engine.getEngine("PyTorch").setRandomSeed(11);
		ResNet50Block network = ResNet50Block.create(3);
		network.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 32, 32));
		return network;
	}

	/** The pooled features with every BatchNorm on the batch's own statistics. */
	private static NDArray trainingModeFeatures(ResNet50Block network, ParameterStore store, NDArray x) {
		network.configure(Stage.NONE, true);
		NDList out = new NDList(x);
		for (ai.djl.util.Pair<String, ai.djl.nn.Block> child : network.getChildren()) {
			if (!child.getKey().endsWith("head")) {
				out = child.getValue().forward(store, out, true);
			}
		}
		return out.singletonOrThrow().mean(new int[] { 3 }).mean(new int[] { 2 });
	}

	@ParameterizedTest
	@EnumSource(BatchNormMode.class)
	void onlyFrozenStagesAreCalibrated(BatchNormMode batchNorm) {
		AtomicReference<Map<String, float[]>> initialized = new AtomicReference<>();
		FineTuner fineTuner = new FineTuner(Runtime.getRuntime().maxMemory() / 4, new FineTuner.RunObserver() {
			@Override
			public void initialized(Classifier network) {
				initialized.set(TrainingFixtures.snapshot(network));
			}
		});
		// stem..layer2 frozen; trainable stages keep the placeholders, as in PyTorch (a
		// scratch network trained with calibrated but frozen statistics diverges: its
		// BatchNorms no longer normalise)
		Hyperparameters hp = TrainingFixtures.hyperparameters(1, 8, 0.001, Optimizer.ADAM);
		fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER2, batchNorm, hp,
				this.out.resolve("m"), null), data, TrainingListener.NONE);
		initialized.get().forEach((name, values) -> {
			if (name.contains("runningVar")) {
				boolean calibrated = name.startsWith("stem/") || name.startsWith("layer1/")
						|| name.startsWith("layer2/");
				assertThat(allOnes(values)).as(name).isEqualTo(!calibrated);
			}
		});
	}

	@Test
	void theDefaultRecipeLearnsFromAScratchNetwork() {
		// the seed's recipe: everything frozen but the head, BatchNorm frozen, SGD
		Hyperparameters hp = TrainingFixtures.hyperparameters(10, 8, 0.001, Optimizer.SGD);
		TrainingResult result = new FineTuner().train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.FROZEN, hp, this.out.resolve("m"), null), data, TrainingListener.NONE);
		List<EpochMetrics> epochs = result.epochs();
		// with the placeholders the features are ~20 in magnitude: the loss starts in
		// the hundreds and the softmax saturates
		assertThat(epochs.get(0).trainLoss()).isLessThan(3.0);
		assertThat(epochs.get(epochs.size() - 1).trainLoss()).isLessThan(epochs.get(0).trainLoss());
		assertThat(epochs.get(epochs.size() - 1).trainAccuracy()).isEqualTo(1.0);
		// 24 training images of noise with a dominant colour, on random features: above
		// chance (0.33) is what can be asked
		assertThat(epochs.get(result.bestEpoch() - 1).valAccuracy()).isGreaterThan(1.0 / 3);
	}

	@Test
	void aWarmEmbeddingCacheRestoresTheStatisticsItsFeaturesWereComputedWith() {
		List<Map<String, float[]>> initialized = new ArrayList<>();
		FineTuner fineTuner = new FineTuner(Runtime.getRuntime().maxMemory() / 4, new FineTuner.RunObserver() {
			@Override
			public void initialized(Classifier network) {
				initialized.add(TrainingFixtures.snapshot(network));
			}
		});
		Hyperparameters hp = TrainingFixtures.hyperparameters(1, 8, 0.001, Optimizer.SGD);
		Path cache = this.out.resolve("cache");
		TrainingResult cold = fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.FROZEN, hp, this.out.resolve("cold"), cache), data, TrainingListener.NONE);
		TrainingResult warm = fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.FROZEN, hp, this.out.resolve("warm"), cache), data, TrainingListener.NONE);
		assertThat(cold.embeddingCacheUsed()).isTrue();
		assertThat(warm.embeddingCacheUsed()).isTrue();
		initialized.get(0).forEach((name, values) -> {
			if (name.contains("running")) {
				assertThat(allOnes(values) && name.contains("Var")).as(name).isFalse();
				assertThat(initialized.get(1).get(name)).as(name).isEqualTo(values);
			}
		});
		assertThat(warm.epochs().get(0).trainLoss()).isEqualTo(cold.epochs().get(0).trainLoss());
	}

	private static boolean allOnes(float[] values) {
		for (float v : values) {
			if (v != 1f) {
				return false;
			}
		}
		return true;
	}

	private static float relativeDifference(NDArray actual, NDArray expected) {
		return actual.sub(expected).norm().getFloat() / expected.norm().getFloat();
	}

	private static float meanMagnitude(NDArray features) {
		return features.abs().mean().getFloat();
	}

	/** Hands out the given batches once. */
	private static final class Batches implements Iterator<NDArray> {

		private final List<NDArray> batches;

		private int next;

		Batches(NDArray... batches) {
			this.batches = List.of(batches);
		}

		@Override
		public boolean hasNext() {
			return this.next < this.batches.size();
		}

		@Override
		public NDArray next() {
			return this.batches.get(this.next++);
		}

	}

}
