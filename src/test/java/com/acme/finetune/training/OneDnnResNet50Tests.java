package com.acme.finetune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class OneDnnResNet50Tests {

	/**
	 * A served network on oneDNN's blocked layout predicts what PyTorch's NCHW
	 * convolutions predict (logits and features), for each image alone as inside the
	 * batch, with BatchNorm statistics far from their defaults.
	 */
	@ParameterizedTest
	@CsvSource({ "1, 32, true", "3, 32, true", "2, 64, true", "1, 32, false", "3, 64, false" })
	void blockedLayoutPredictsWhatNchwPredicts(int batch, int size, boolean plainShortcut) {
		// same-layout sums die on CPUs that report no cache sizes (see the module's
		// script)
		assumeTrue(plainShortcut || CpuLayout.CACHES_REPORTED, "this CPU reports no cache sizes");
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(7);
			ResNet50Block block = ResNet50Block.create(5);
			block.initialize(manager, DataType.FLOAT32, new Shape(batch, 3, size, size));
			TrainingFixtures.randomiseBatchNorm(block, manager);
			block.useChannelsLast(false);
			block.foldBatchNorm();
			NDArray x = manager.randomNormal(new Shape(batch, 3, size, size));
			ParameterStore store = new ParameterStore(manager, false);
			float[] nchwLogits = block.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
			float[] nchwFeatures = block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();

			assertThat(block.useOneDnnLayout(manager, plainShortcut)).isTrue();
			assertThat(block.onOneDnnLayout()).isTrue();
			float[] logits = block.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
			NDArray features = block.features(store, new NDList(x)).singletonOrThrow();
			assertThat(features.getShape()).isEqualTo(new Shape(batch, ResNet50Block.FEATURE_DIM));
			TrainingFixtures.assertClose(logits, nchwLogits);
			TrainingFixtures.assertClose(features.toFloatArray(), nchwFeatures);
			for (int i = 0; i < batch; i++) {
				NDArray alone = block.forward(store, new NDList(x.get(i).expandDims(0)), false).singletonOrThrow();
				TrainingFixtures.assertClose(alone.toFloatArray(),
						block.forward(store, new NDList(x), false).singletonOrThrow().get(i).toFloatArray());
			}
		}
	}

}
