package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingData.Sample;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptState;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Served TorchScript backbones that are torchvision's ResNet-50 run on oneDNN's blocked
 * layout; everything else keeps running as TorchScript. Fixtures from
 * {@code src/test/python/make_onednn_fixtures.py}: the ResNet-50 topology 32x narrower
 * (64-d features), BatchNorm statistics far from their defaults.
 */
class TorchScriptOneDnnTests {

	private static final int FEATURES = 64;

	@ParameterizedTest
	@CsvSource({ "true, 2, 32", "true, 3, 48", "false, 3, 48" })
	void torchvisionResNet50PredictsAsItsTorchScript(boolean plainShortcut, int batch, int size) throws IOException {
		// same-layout sums die on CPUs that report no cache sizes (see OneDnnResNet50)
		assumeTrue(plainShortcut || CpuLayout.CACHES_REPORTED, "this CPU reports no cache sizes");
		Path file = TrainingFixtures.fixture("tiny-resnet50-topology.pt");
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			TorchScriptClassifier classifier = classifier(manager, file);
			ParameterStore store = new ParameterStore(manager, false);
			NDArray x = manager.randomNormal(new Shape(batch, 3, size, size));
			float[] features = classifier.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
			float[] logits = classifier.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();

			assertThat(classifier.useOneDnnLayout(manager, file, plainShortcut)).isTrue();
			assertThat(classifier.onOneDnnLayout()).isTrue();
			assertThat(classifier.oneDnnBytes()).isGreaterThan(0);
			NDArray blocked = classifier.features(store, new NDList(x)).singletonOrThrow();
			assertThat(blocked.getShape()).isEqualTo(new Shape(batch, FEATURES));
			TrainingFixtures.assertClose(blocked.toFloatArray(), features);
			TrainingFixtures
				.assertClose(classifier.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray(), logits);
		}
	}

	/**
	 * The whole route: fine-tune layer4 of the backbone through the training core (the
	 * artifact's {@code backbone.pt} is then written by libtorch, not Python), load the
	 * artifact for serving, and predict what the TorchScript module predicts.
	 */
	@Test
	void fineTunedArtifactIsServedOnTheBlockedLayout(@TempDir Path dir) throws Exception {
		TrainingData data = TrainingFixtures.colours(dir.resolve("data"), 4, 2, 32, 5);
		BaseModel base = new BaseModel(BaseModel.Kind.TORCHSCRIPT, "tiny-resnet50",
				TrainingFixtures.fixture("tiny-resnet50-topology.pt"));
		TrainingResult result = new FineTuner().train(
				TrainingFixtures.request(base, Stage.LAYER3, BatchNormMode.FROZEN,
						TrainingFixtures.hyperparameters(1, 4, 0.1, Optimizer.SGD), dir.resolve("model"), null),
				data, TrainingListener.NONE);
		List<BufferedImage> images = new ArrayList<>();
		for (Sample s : data.validation()) {
			images.add(Preprocessing.read(s.image()));
		}
		try (ModelArtifact artifact = ModelArtifact.load(result.modelDir(), "cpu")) {
			TorchScriptClassifier served = (TorchScriptClassifier) artifact.model().getBlock();
			assertThat(served.onOneDnnLayout()).isTrue();
			int classes = data.labels().size();
			List<List<ModelArtifact.Prediction>> blocked = artifact.predictBatch(images, classes);
			try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
				Path backbone = result.modelDir().resolve(TorchScriptClassifier.BACKBONE_FILE);
				TorchScriptClassifier torchScript = new TorchScriptClassifier(
						ArtifactBlockFactory.loadBackbone(manager, backbone, false), served.head(), FEATURES, classes,
						false);
				Preprocessing preprocessing = artifact.preprocessing();
				int size = preprocessing.imageSize();
				float[] pixels = new float[images.size() * 3 * size * size];
				for (int i = 0; i < images.size(); i++) {
					preprocessing.toTensor(images.get(i), pixels, i * 3 * size * size);
				}
				NDArray x = manager.create(pixels, new Shape(images.size(), 3, size, size));
				float[] probabilities = torchScript.forward(new ParameterStore(manager, false), new NDList(x), false)
					.singletonOrThrow()
					.softmax(1)
					.toFloatArray();
				for (int i = 0; i < images.size(); i++) {
					for (ModelArtifact.Prediction p : blocked.get(i)) {
						int label = data.labels().indexOf(p.label());
						assertThat(p.probability()).isCloseTo(probabilities[i * classes + label], within(1e-4));
					}
				}
			}
		}
	}

	@Test
	void otherModulesKeepRunningAsTorchScript() throws IOException {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			// torchvision's names and shapes, another function (BatchNorm eps 0.1)
			Path eps = TrainingFixtures.fixture("tiny-resnet50-topology-eps.pt");
			TorchScriptClassifier sameNames = classifier(manager, eps);
			assertThat(sameNames.useOneDnnLayout(manager, eps, true)).isFalse();
			assertThat(sameNames.onOneDnnLayout()).isFalse();
			// not a ResNet-50 at all
			Path other = TrainingFixtures.fixture("tiny-backbone-shortcut.pt");
			TorchScriptClassifier shortcut = new TorchScriptClassifier(
					ArtifactBlockFactory.loadBackbone(manager, other, false), head(manager, 128), 128, 3, false);
			assertThat(shortcut.useOneDnnLayout(manager, other, true)).isFalse();
		}
	}

	@Test
	void stateIncludesBatchNormStatistics() throws IOException {
		Map<String, TorchScriptState.Tensor> state = TorchScriptState
			.read(TrainingFixtures.fixture("tiny-resnet50-topology.pt"));
		// 53 convolutions and 53 BatchNorms with four tensors each
		assertThat(state.keySet().stream().filter((k) -> k.endsWith("running_var"))).hasSize(53);
		assertThat(state).hasSize(53 + 53 * 4);
		TorchScriptState.Tensor weight = state.get("layer4.0.downsample.0.weight");
		assertThat(weight.shape()).containsExactly(64, 32, 1, 1);
		assertThat(weight.values()).hasSize(64 * 32);
		// statistics drawn from [0.5, 2), not PyTorch's initial ones
		float[] variance = state.get("layer2.1.bn2.running_var").values();
		assertThat(variance).hasSize(4);
		for (float v : variance) {
			assertThat(v).isBetween(0.5f, 2f).isNotEqualTo(1f);
		}
	}

	private static TorchScriptClassifier classifier(NDManager manager, Path file) throws IOException {
		return new TorchScriptClassifier(ArtifactBlockFactory.loadBackbone(manager, file, false),
				head(manager, FEATURES), FEATURES, 3, false);
	}

	private static Linear head(NDManager manager, int features) {
		Linear head = ResNet50Block.newHead(3);
		head.initialize(manager, DataType.FLOAT32, new Shape(1, features));
		return head;
	}

}
