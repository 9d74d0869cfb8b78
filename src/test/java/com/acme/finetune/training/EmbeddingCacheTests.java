package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStopping;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.Hyperparameters.LrSchedule;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Head training on cached features must be the uncached run, only faster. */
class EmbeddingCacheTests {

	@TempDir
	Path dir;

	@Test
	void cachedHeadTrainingMatchesUncachedAndIsReused() throws IOException {
		TrainingData data = TrainingFixtures.colours(this.dir.resolve("data"), 6, 3, 32, 3);
		Hyperparameters hp = new Hyperparameters(3, 5, 0.05, Optimizer.SGD, 0.9, 1e-4, LrSchedule.STEP, 32,
				Augmentation.NONE, 0.1, ClassWeights.BALANCED, 5, new EarlyStopping(0, EarlyStoppingMetric.VAL_LOSS));
		Path cache = this.dir.resolve("cache");
		FineTuner fineTuner = new FineTuner();

		TrainingResult uncached = fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.TRAIN, hp, this.dir.resolve("uncached"), null), data, TrainingListener.NONE);
		TrainingResult cached = fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.TRAIN, hp, this.dir.resolve("cached"), cache), data, TrainingListener.NONE);
		TrainingResult reused = fineTuner.train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER4,
				BatchNormMode.TRAIN, hp, this.dir.resolve("reused"), cache), data, TrainingListener.NONE);

		assertThat(uncached.embeddingCacheUsed()).isFalse();
		assertThat(cached.embeddingCacheUsed()).isTrue();
		assertThat(reused.embeddingCacheUsed()).isTrue();
		// one entry: the features, and the scratch backbone's BatchNorm statistics they
		// were computed with
		try (Stream<Path> files = Files.list(cache.resolve("embeddings"))) {
			assertThat(files.map((f) -> f.getFileName().toString().replaceAll("^[0-9a-f]+", "")).sorted())
				.containsExactly(".bn", ".f32");
		}
		for (int i = 0; i < 3; i++) {
			EpochMetrics u = uncached.epochs().get(i);
			for (TrainingResult other : List.of(cached, reused)) {
				EpochMetrics c = other.epochs().get(i);
				// float rounding: features come from batches of other sizes on the two
				// paths
				assertThat(c.trainLoss()).isCloseTo(u.trainLoss(), within(1e-6 * Math.max(1, Math.abs(u.trainLoss()))));
				assertThat(c.valLoss()).isCloseTo(u.valLoss(), within(1e-6 * Math.max(1, Math.abs(u.valLoss()))));
				assertThat(c.trainAccuracy()).isEqualTo(u.trainAccuracy());
				assertThat(c.valAccuracy()).isEqualTo(u.valAccuracy());
				assertThat(c.learningRate()).isEqualTo(u.learningRate());
			}
		}
		assertThat(cached.confusionMatrix()).isDeepEqualTo(uncached.confusionMatrix());
		// the step schedule divided the rate once per third of the run
		assertThat(uncached.epochs().get(1).learningRate()).isCloseTo(0.005, within(1e-9));
	}

	@Test
	void cacheDecisionExplainsItself() {
		FineTuner fineTuner = new FineTuner();
		Hyperparameters hp = Hyperparameters.defaults();
		assertThat(FineTuner.embeddingCache(fineTuner.countParameters(TrainingFixtures.SCRATCH, Stage.LAYER4, 3), hp)
			.applies()).isTrue();
		FineTuner.CacheDecision partial = FineTuner
			.embeddingCache(fineTuner.countParameters(TrainingFixtures.SCRATCH, Stage.LAYER3, 3), hp);
		assertThat(partial.applies()).isFalse();
		assertThat(partial.reason()).contains("part of the backbone");
	}

}
