package com.acme.finetune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

class BatchNormFoldingTests {

	/**
	 * A served (folded) network predicts what the unfolded one predicts, with BatchNorm
	 * statistics and affine parameters far from their defaults; a folded network refuses
	 * to train.
	 */
	@ParameterizedTest
	@CsvSource({ "2, 32", "3, 64" })
	void foldedInferenceEqualsConvolutionThenBatchNorm(int batch, int size) {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(5);
			ResNet50Block block = ResNet50Block.create(5);
			block.initialize(manager, DataType.FLOAT32, new Shape(batch, 3, size, size));
			TrainingFixtures.randomiseBatchNorm(block, manager);
			block.configure(Stage.NONE, true);
			NDArray x = manager.randomNormal(new Shape(batch, 3, size, size));
			ParameterStore store = new ParameterStore(manager, false);
			float[] inference = block.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();

			block.foldBatchNorm();
			float[] foldedInference = block.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();

			TrainingFixtures.assertClose(foldedInference, inference);
			assertThat(foldedInference).isNotEqualTo(inference);
			assertThatIllegalStateException().isThrownBy(() -> block.forward(store, new NDList(x), true))
				.withMessageContaining("inference only");
		}
	}

}
