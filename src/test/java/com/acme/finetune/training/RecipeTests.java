package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.FreezeSchedule.Phase;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.nn.Classifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The training recipes on real DJL runs: resume from a checkpoint, gradual unfreezing,
 * per-stage learning rates, warm-up.
 */
class RecipeTests {

	@TempDir
	static Path shared;

	static TrainingData data;

	@TempDir
	Path dir;

	@BeforeAll
	static void generate() throws IOException {
		data = TrainingFixtures.colours(shared.resolve("data"), 6, 2, 32, 5);
	}

	/**
	 * A run stopped during epoch 3 and started again with the same request continues
	 * after epoch 2: epoch 3 alone is trained again, and the final weights are those of a
	 * run that was never stopped.
	 */
	@Test
	void aStoppedRunResumesAfterItsLastEpochAndEndsWhereAnUninterruptedRunEnds() {
		Hyperparameters hp = TrainingFixtures.hyperparameters(3, 6, 0.002, Optimizer.ADAM)
			.withWarmup(0.5)
			.withStageLearningRates(StageLearningRates.layerDecay(0.5));
		assertResumesExactly(TrainingFixtures.SCRATCH, Stage.LAYER2, hp, "scratch");
	}

	@Test
	void torchScriptRunsResumeExactlyToo() {
		Hyperparameters hp = TrainingFixtures.hyperparameters(3, 6, 0.01, Optimizer.SGD);
		assertResumesExactly(TrainingFixtures.partialBackbone(), Stage.STEM, hp, "torchscript");
	}

	private void assertResumesExactly(BaseModel base, Stage upTo, Hyperparameters hp, String name) {
		AtomicReference<Map<String, float[]>> uninterrupted = new AtomicReference<>();
		TrainingResult straight = observing(uninterrupted).train(request(base, upTo, hp, name + "-straight", null),
				data, TrainingListener.NONE);

		Path checkpoints = this.dir.resolve(name + "-checkpoints");
		List<Integer> epochsSeen = new ArrayList<>();
		TrainingListener stopInEpoch3 = new TrainingListener() {
			int epoch;

			@Override
			public void onStep(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
				this.epoch = epoch;
			}

			@Override
			public void onEpoch(EpochMetrics metrics) {
				epochsSeen.add(metrics.epoch());
			}

			@Override
			public boolean isCancelled() {
				return this.epoch == 3;
			}
		};
		assertThatThrownBy(
				() -> new FineTuner().train(request(base, upTo, hp, name + "-first", checkpoints), data, stopInEpoch3))
			.isInstanceOf(TrainingCancelledException.class);
		assertThat(FineTuner.checkpointedEpochs(checkpoints)).isEqualTo(2);

		List<Integer> stepsOfEpoch = new ArrayList<>();
		int[] startedAfter = { -1 };
		AtomicReference<Map<String, float[]>> resumedWeights = new AtomicReference<>();
		TrainingResult resumed = observing(resumedWeights).train(request(base, upTo, hp, name + "-second", checkpoints),
				data, new TrainingListener() {
					@Override
					public void onStart(int totalEpochs, int stepsPerEpoch, int completedEpochs) {
						startedAfter[0] = completedEpochs;
					}

					@Override
					public void onStep(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
						stepsOfEpoch.add(epoch);
					}

					@Override
					public void onEpoch(EpochMetrics metrics) {
						epochsSeen.add(metrics.epoch());
					}
				});
		assertThat(startedAfter[0]).isEqualTo(2);
		assertThat(stepsOfEpoch).isNotEmpty().allMatch((e) -> e == 3);
		// every epoch reported exactly once over both attempts
		assertThat(epochsSeen).containsExactly(1, 2, 3);
		assertThat(resumed.epochs()).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3);
		for (int i = 0; i < 3; i++) {
			assertThat(resumed.epochs().get(i).trainLoss()).as("epoch %d", i + 1)
				.isCloseTo(straight.epochs().get(i).trainLoss(), within(1e-4));
			assertThat(resumed.epochs().get(i).valLoss()).isCloseTo(straight.epochs().get(i).valLoss(), within(1e-4));
			assertThat(resumed.epochs().get(i).learningRate()).isEqualTo(straight.epochs().get(i).learningRate());
		}
		assertThat(resumed.bestEpoch()).isEqualTo(straight.bestEpoch());
		assertThat(resumedWeights.get().keySet()).isEqualTo(uninterrupted.get().keySet());
		uninterrupted.get().forEach((key, expected) -> {
			float[] actual = resumedWeights.get().get(key);
			for (int i = 0; i < expected.length; i++) {
				assertThat(actual[i]).as(key).isCloseTo(expected[i], within(1e-4f + 1e-3f * Math.abs(expected[i])));
			}
		});
	}

	@Test
	void gradualUnfreezingTrainsTheHeadOnCachedFeaturesThenUnfreezesStage4() throws IOException {
		Hyperparameters hp = TrainingFixtures.hyperparameters(3, 6, 0.01, Optimizer.ADAM);
		FreezeSchedule schedule = new FreezeSchedule(
				List.of(new Phase(0, Stage.LAYER4), new Phase(1, Stage.LAYER3), new Phase(2, Stage.LAYER2)));
		AtomicReference<Map<String, float[]>> before = new AtomicReference<>();
		AtomicReference<Map<String, float[]>> after = new AtomicReference<>();
		Path checkpoints = this.dir.resolve("gradual-checkpoints");
		TrainingRequest request = new TrainingRequest(TrainingFixtures.SCRATCH, Stage.LAYER4, BatchNormMode.AUTO, hp,
				"cpu", this.dir.resolve("gradual"), this.dir.resolve("cache"), schedule, checkpoints);
		TrainingResult result = observing(before, after).train(request, data, TrainingListener.NONE);
		assertThat(result.embeddingCacheUsed()).isTrue();
		assertThat(Files.list(this.dir.resolve("cache").resolve("embeddings"))).isNotEmpty();
		assertThat(result.epochs()).extracting(EpochMetrics::phase).containsExactly(0, 1, 2);
		assertThat(result.epochs()).extracting(EpochMetrics::frozenUpTo).containsExactly("layer4", "layer3", "layer2");
		// what the run trained at all: layer3, layer4 and the head
		assertThat(result.parameters().byStage().get("layer3").trainable()).isPositive();
		assertThat(result.parameters().byStage().get("layer2").trainable()).isZero();
		// the last checkpoint holds epoch 3's weights (the model holds the best epoch's)
		Checkpoint.Stored last = Checkpoint.latest(checkpoints);
		assertThat(last.epoch()).isEqualTo(3);
		try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu())) {
			Map<String, float[]> trained = TrainingFixtures.snapshot(Checkpoint.loadNetwork(last.weights(), manager));
			assertThat(changed(before.get(), trained, "layer2/")).isFalse();
			assertThat(changed(before.get(), trained, "layer3/")).isTrue();
			assertThat(changed(before.get(), trained, "layer4/")).isTrue();
			assertThat(changed(before.get(), trained, "head/")).isTrue();
		}
		assertThat(changed(before.get(), after.get(), "layer2/")).isFalse();
	}

	@Test
	void aStageAtRateZeroDoesNotMoveWhileOthersTrain() {
		Hyperparameters hp = TrainingFixtures.hyperparameters(1, 6, 0.05, Optimizer.SGD)
			.withStageLearningRates(new StageLearningRates(Map.of("layer3", 0.0, "head", 2.0), null));
		AtomicReference<Map<String, float[]>> before = new AtomicReference<>();
		AtomicReference<Map<String, float[]>> after = new AtomicReference<>();
		observing(before, after).train(request(TrainingFixtures.SCRATCH, Stage.LAYER2, hp, "rates", null), data,
				TrainingListener.NONE);
		before.get().forEach((name, value) -> {
			if (name.startsWith("layer3/") && !name.contains("running")) {
				assertThat(after.get().get(name)).as(name).isEqualTo(value);
			}
		});
		assertThat(changed(before.get(), after.get(), "layer4/")).isTrue();
	}

	@Test
	void warmUpGrowsTheRateLinearlyFromZeroOnTopOfEverySchedule() {
		Hyperparameters constant = TrainingFixtures.hyperparameters(4, 8, 0.1, Optimizer.SGD).withWarmup(1.5);
		LearningRateSchedule rates = new LearningRateSchedule(constant, 4);
		// 6 warm-up steps: 1/6 .. 6/6 of the rate, then the rate
		assertThat(rates.stepRate(0, 0)).isCloseTo(0.1 / 6, within(1e-12));
		assertThat(rates.stepRate(0, 3)).isCloseTo(0.1 * 4 / 6, within(1e-12));
		assertThat(rates.stepRate(1, 1)).isCloseTo(0.1, within(1e-12));
		assertThat(rates.stepRate(3, 3)).isCloseTo(0.1, within(1e-12));
		for (Hyperparameters.LrSchedule schedule : Hyperparameters.LrSchedule.values()) {
			Hyperparameters hp = new Hyperparameters(6, 8, 0.1, Optimizer.SGD, 0.9, 0, schedule, 32,
					Hyperparameters.Augmentation.NONE, 0, Hyperparameters.ClassWeights.NONE, 1,
					new Hyperparameters.EarlyStopping(0, Hyperparameters.EarlyStoppingMetric.VAL_LOSS), 2.0, null);
			LearningRateSchedule warm = new LearningRateSchedule(hp, 5);
			assertThat(warm.stepRate(0, 4)).isCloseTo(warm.epochRate(0) * 0.5, within(1e-12));
			assertThat(warm.stepRate(1, 2)).isCloseTo(warm.epochRate(1) * 0.8, within(1e-12));
			assertThat(warm.stepRate(5, 0)).isEqualTo(warm.epochRate(5));
		}
		assertThat(
				new LearningRateSchedule(TrainingFixtures.hyperparameters(4, 8, 0.1, Optimizer.SGD), 4).stepRate(0, 0))
			.isEqualTo(0.1);
	}

	@Test
	void layerDecayMultipliesTheRateByTheDecayPerStageFromTheHead() {
		StageLearningRates decay = StageLearningRates.layerDecay(0.5);
		assertThat(decay.resolved()).containsExactly(Map.entry("stem", 0.03125), Map.entry("layer1", 0.0625),
				Map.entry("layer2", 0.125), Map.entry("layer3", 0.25), Map.entry("layer4", 0.5),
				Map.entry("head", 1.0));
		StageLearningRates explicit = new StageLearningRates(Map.of("layer3", 0.1, "layer4", 0.3), null);
		assertThat(explicit.multiplier("layer3")).isEqualTo(0.1);
		assertThat(explicit.multiplier("head")).isEqualTo(1.0);
		assertThatThrownBy(() -> new StageLearningRates(Map.of("head", 1.0), 0.5))
			.isInstanceOf(IllegalArgumentException.class);
	}

	private TrainingRequest request(BaseModel base, Stage upTo, Hyperparameters hp, String name, Path checkpoints) {
		return new TrainingRequest(base, upTo, BatchNormMode.AUTO, hp, "cpu", this.dir.resolve(name), null, null,
				checkpoints);
	}

	private static boolean changed(Map<String, float[]> before, Map<String, float[]> after, String prefix) {
		return before.entrySet()
			.stream()
			.filter((e) -> e.getKey().startsWith(prefix) && !e.getKey().contains("running"))
			.anyMatch((e) -> !java.util.Arrays.equals(e.getValue(), after.get(e.getKey())));
	}

	private static FineTuner observing(AtomicReference<Map<String, float[]>> after) {
		return observing(new AtomicReference<>(), after);
	}

	private static FineTuner observing(AtomicReference<Map<String, float[]>> before,
			AtomicReference<Map<String, float[]>> after) {
		return new FineTuner(Long.MAX_VALUE, new FineTuner.RunObserver() {
			@Override
			public void initialized(Classifier network) {
				before.set(TrainingFixtures.snapshot(network));
			}

			@Override
			public void trained(Classifier network) {
				after.set(TrainingFixtures.snapshot(network));
			}
		});
	}

}
