package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptState;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * TorchScript bases: uploaded feature extractors and the ImageNet ResNet-50 surgery, on
 * tiny fixtures made by {@code src/test/python/make_torchscript_fixtures.py}.
 */
class TorchScriptBackboneTests {

	@TempDir
	static Path shared;

	static TrainingData data;

	@TempDir
	Path dir;

	@BeforeAll
	static void generate() throws IOException {
		data = TrainingFixtures.colours(shared.resolve("data"), 4, 2, 32, 5);
	}

	@Test
	void aFrozenBackboneTrainsItsHeadWithoutTheCache() {
		// augmentation turns the embedding cache off, so the head trains on live features
		Hyperparameters h = TrainingFixtures.hyperparameters(1, 4, 0.01, Hyperparameters.Optimizer.SGD);
		Hyperparameters flip = new Hyperparameters(h.epochs(), h.batchSize(), h.learningRate(), h.optimizer(),
				h.momentum(), h.weightDecay(), h.lrSchedule(), h.imageSize(), Hyperparameters.Augmentation.FLIP,
				h.labelSmoothing(), h.classWeights(), h.seed(), h.earlyStopping());
		for (Path cache : new Path[] { null, this.dir.resolve("cache") }) {
			TrainingResult result = new FineTuner()
				.train(TrainingFixtures.request(TrainingFixtures.partialBackbone(), Stage.LAYER4,
						TrainingRequest.BatchNormMode.FROZEN, flip, this.dir.resolve("out-" + (cache != null)), cache),
						data, TrainingListener.NONE);
			assertThat(result.embeddingCacheUsed()).isFalse();
			assertThat(result.epochs()).hasSize(1);
		}
		// no augmentation but no cache directory either: live features too
		TrainingResult result = new FineTuner().train(
				TrainingFixtures.request(TrainingFixtures.partialBackbone(), Stage.LAYER4,
						TrainingRequest.BatchNormMode.FROZEN, h, this.dir.resolve("out-plain"), null),
				data, TrainingListener.NONE);
		assertThat(result.epochs()).hasSize(1);
	}

	@Test
	void parameterNamesDecideWhichStagesExist() {
		FineTuner fineTuner = new FineTuner();
		BackboneInfo info = fineTuner.inspect(TrainingFixtures.partialBackbone(), 32);
		assertThat(info.featureDim()).isEqualTo(16);
		assertThat(info.trainableStages()).containsExactly(Stage.STEM, Stage.LAYER1, Stage.LAYER2);
		assertThat(info.network()).isEqualTo("torchscript");
		ParameterCounts counts = fineTuner.countParameters(TrainingFixtures.partialBackbone(), Stage.LAYER1, 3);
		// conv1 3·8·9 + bn1 2·8 | layer1 8·8·9 + 2·8 | layer2 8·16·9 + 2·16 | head 17·3
		assertThat(counts.byStage()).containsOnlyKeys("stem", "layer1", "layer2", "layer3", "layer4", "head");
		assertThat(counts.byStage().get("stem").total()).isEqualTo(232);
		assertThat(counts.byStage().get("layer1").total()).isEqualTo(592);
		assertThat(counts.byStage().get("layer2").trainable()).isEqualTo(1184);
		assertThat(counts.byStage().get("layer3").total()).isZero();
		assertThat(counts.total()).isEqualTo(2008 + 51);
		assertThat(counts.trainable()).isEqualTo(1184 + 51);
	}

	@Test
	void trainsUnfrozenStagesOnly() {
		AtomicReference<Map<String, float[]>> before = new AtomicReference<>();
		AtomicReference<Map<String, float[]>> after = new AtomicReference<>();
		FineTuner fineTuner = new FineTuner(Long.MAX_VALUE, new FineTuner.RunObserver() {
			@Override
			public void initialized(Classifier network) {
				before.set(TrainingFixtures.snapshot(network));
			}

			@Override
			public void trained(Classifier network) {
				after.set(TrainingFixtures.snapshot(network));
			}
		});
		TrainingResult result = fineTuner.train(
				TrainingFixtures.request(TrainingFixtures.partialBackbone(), Stage.LAYER1, BatchNormMode.FROZEN,
						TrainingFixtures.hyperparameters(1, 4, 0.1, Optimizer.SGD), this.dir.resolve("model"), null),
				data, TrainingListener.NONE);
		assertThat(result.parameters().trainable()).isEqualTo(1184 + 51);
		before.get().forEach((name, value) -> {
			if (name.startsWith("backbone/conv1.") || name.startsWith("backbone/bn1.")
					|| name.startsWith("backbone/layer1.")) {
				assertThat(after.get().get(name)).as(name).isEqualTo(value);
			}
		});
		assertThat(after.get().get("backbone/layer2.0.weight"))
			.isNotEqualTo(before.get().get("backbone/layer2.0.weight"));
		assertThat(result.modelDir().resolve("backbone.pt")).isRegularFile();
	}

	@Test
	void torchScriptArtifactLoadsWithPlainDjl() throws Exception {
		TrainingResult result = new FineTuner().train(
				TrainingFixtures.request(TrainingFixtures.partialBackbone(), Stage.LAYER2, BatchNormMode.FROZEN,
						TrainingFixtures.hyperparameters(1, 4, 0.1, Optimizer.SGD), this.dir.resolve("model"), null),
				data, TrainingListener.NONE);
		assertThat(ModelArtifactTests.forwardWithPlainDjl(result.modelDir())).isEqualTo(new Shape(2, 3));
		try (ModelArtifact artifact = ModelArtifact.load(result.modelDir(), "cpu")) {
			assertThat(artifact.predict(data.validation().get(0).image(), 1)).hasSize(1);
		}
	}

	@Test
	void scriptedModulesKeepTheirStatisticsUnlessNothingIsFrozen() throws IOException {
		Path file = TrainingFixtures.fixture("tiny-backbone-scripted.pt");
		BaseModel scripted = new BaseModel(BaseModel.Kind.TORCHSCRIPT, "scripted", file);
		Map<String, TorchScriptState.Tensor> original = TorchScriptState.read(file);
		Hyperparameters hp = TrainingFixtures.hyperparameters(1, 4, 0.1, Optimizer.SGD);
		// its BatchNorms switch together: batch statistics in layer2 would change
		// layer1's too, so an explicit train is refused while stages are frozen
		assertThatThrownBy(() -> new FineTuner().train(TrainingFixtures.request(scripted, Stage.LAYER1,
				BatchNormMode.TRAIN, hp, this.dir.resolve("refused"), null), data, TrainingListener.NONE))
			.isInstanceOf(InvalidBackboneException.class)
			.hasMessageContaining("eval-mode trace");
		// auto: trains in eval mode with gradients, every statistic as it was
		for (BatchNormMode mode : new BatchNormMode[] { BatchNormMode.AUTO, BatchNormMode.FROZEN }) {
			TrainingResult partly = new FineTuner().train(TrainingFixtures.request(scripted, Stage.LAYER1, mode, hp,
					this.dir.resolve("partly-" + mode), null), data, TrainingListener.NONE);
			Map<String, TorchScriptState.Tensor> trained = TorchScriptState
				.read(partly.modelDir().resolve(TorchScriptClassifier.BACKBONE_FILE));
			assertThat(statistics(trained)).as(mode.id()).isEqualTo(statistics(original));
			assertThat(trained.get("layer2.0.weight").values()).isNotEqualTo(original.get("layer2.0.weight").values());
		}
		// nothing frozen: auto uses (and updates) batch statistics; a small rate, as the
		// stem's training turned NaN in one run at 0.1 (see DefaultRecipeMatrixTests)
		TrainingResult all = new FineTuner().train(
				TrainingFixtures.request(scripted, Stage.NONE, BatchNormMode.AUTO,
						TrainingFixtures.hyperparameters(1, 4, 0.001, Optimizer.SGD), this.dir.resolve("all"), null),
				data, TrainingListener.NONE);
		assertThat(statistics(TorchScriptState.read(all.modelDir().resolve(TorchScriptClassifier.BACKBONE_FILE))))
			.isNotEqualTo(statistics(original));
	}

	/** Every BatchNorm running statistic, by name, as lists (comparable by value). */
	private static Map<String, List<Float>> statistics(Map<String, TorchScriptState.Tensor> tensors) {
		Map<String, List<Float>> result = new java.util.TreeMap<>();
		tensors.forEach((name, tensor) -> {
			if (name.endsWith("running_mean") || name.endsWith("running_var")) {
				List<Float> values = new java.util.ArrayList<>();
				for (float v : tensor.values()) {
					values.add(v);
				}
				result.put(name, values);
			}
		});
		assertThat(result).isNotEmpty();
		return result;
	}

	@Test
	void notTorchScriptIsRejected() throws IOException {
		Path bogus = Files.writeString(this.dir.resolve("bogus.pt"), "not a module");
		assertThatThrownBy(() -> new FineTuner().inspect(new BaseModel(BaseModel.Kind.TORCHSCRIPT, "bogus", bogus), 32))
			.isInstanceOf(InvalidBackboneException.class);
	}

	@Test
	void classifierSurgeryGivesTheExactEmbedding() throws IOException {
		Path original = TrainingFixtures.fixture("tiny-resnet-classifier.pt");
		Path embedding = this.dir.resolve("embedding.pt");
		ImagenetBackbone.stripClassifier(original, embedding);
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
			PtSymbolBlock full = JniUtils.loadModule((PtNDManager) manager, original, true, new String[0],
					new String[0], false);
			PtSymbolBlock cut = JniUtils.loadModule((PtNDManager) manager, embedding, true, new String[0],
					new String[0], false);
			ParameterStore store = new ParameterStore(manager, false);
			NDArray x = manager.randomUniform(0, 1, new Shape(2, 3, 32, 32));
			NDArray logits = full.forward(store, new NDList(x), false).singletonOrThrow();
			NDArray features = cut.forward(store, new NDList(x), false).singletonOrThrow();
			assertThat(features.getShape()).isEqualTo(new Shape(2, 16));
			Map<String, Parameter> params = new java.util.HashMap<>();
			full.getParameters().forEach((p) -> params.put(p.getKey(), p.getValue()));
			NDArray recomputed = features.matMul(params.get("fc.weight").getArray().transpose())
				.add(params.get("fc.bias").getArray());
			assertThat(recomputed.allClose(logits, 1e-5, 1e-6, false)).isTrue();
		}
	}

	@Test
	void imagenetBackboneComesFromTheStoreDirectoryOrFailsClearly() throws IOException {
		Path store = Files.createDirectories(this.dir.resolve("store"));
		assertThat(ImagenetBackbone.isAvailable(store)).isFalse();
		BaseModel imagenet = new BaseModel(BaseModel.Kind.IMAGENET, "resnet50-imagenet", store);
		// offline (the test JVM sets ai.djl.offline=true) and nothing cached
		assertThatThrownBy(() -> ImagenetBackbone.prepare(store)).isInstanceOf(BackboneUnavailableException.class)
			.hasMessageContaining("traced_resnet50.pt")
			.hasMessageContaining("resnet50-scratch");
		// an operator drops the zoo file in: the stand-in is a traced torchvision-named
		// ResNet
		Files.copy(TrainingFixtures.fixture("tiny-resnet-classifier.pt"), store.resolve("traced_resnet50.pt"));
		assertThat(ImagenetBackbone.isAvailable(store)).isTrue();
		TrainingResult result = new FineTuner().train(TrainingFixtures.request(imagenet, Stage.LAYER4,
				BatchNormMode.FROZEN, TrainingFixtures.hyperparameters(1, 4, 0.1, Optimizer.SGD),
				this.dir.resolve("model"), this.dir.resolve("cache")), data, TrainingListener.NONE);
		assertThat(store.resolve(ImagenetBackbone.EMBEDDING_FILE)).isRegularFile();
		assertThat(result.embeddingCacheUsed()).isTrue();
		// the dead 1000-way fc of the zoo module is not part of the counted network
		assertThat(result.parameters().byStage()).doesNotContainKey("other");
		assertThat(result.parameters().trainable()).isEqualTo(17 * 3);
	}

}
