package com.acme.finetune.training;

import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TracedConvolutionsTests {

	@Test
	void rewritesOnlyStridedUnpaddedConvolutions() {
		String strided = "    _0 = torch._convolution(input, weight, None, [2, 2], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n";
		String unit = "    _1 = torch._convolution(x, weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n";
		String padded = "    _2 = torch._convolution(x, weight, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1, False, False, True, True)\n";

		String rewritten = TracedConvolutions.rewrite(strided + unit + padded);

		assertThat(rewritten).isEqualTo("    _0 = torch._convolution(torch.avg_pool2d(input, [1, 1], [2, 2])"
				+ " if weight.size(2) == 1 and weight.size(3) == 1 else input, weight, None,"
				+ " [1, 1] if weight.size(2) == 1 and weight.size(3) == 1 else [2, 2],"
				+ " [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n" + unit + padded);
	}

	/**
	 * The fixture has a strided 1x1 shortcut and a strided unpadded 2x2 convolution: the
	 * rewritten module computes the same features in inference and in training mode, and
	 * the same input gradient.
	 */
	@Test
	void theRewrittenModuleComputesTheSameValuesAndGradients() throws Exception {
		Path original = TrainingFixtures.fixture("tiny-backbone-shortcut.pt");
		Path rewritten = TracedConvolutions.unitStrideCopy(original);
		assertThat(rewritten).isNotNull();
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			PtSymbolBlock before = JniUtils.loadModule((PtNDManager) manager, original, true, new String[0],
					new String[0], true);
			PtSymbolBlock after = JniUtils.loadModule((PtNDManager) manager, rewritten, true, new String[0],
					new String[0], true);
			NDArray x = manager.randomNormal(new Shape(3, 3, 35, 35));
			ParameterStore store = new ParameterStore(manager, false);
			NDArray expected = before.forward(store, new NDList(x), false).singletonOrThrow();
			NDArray actual = after.forward(store, new NDList(x), false).singletonOrThrow();
			assertThat(actual.getShape()).isEqualTo(new Shape(3, 128));
			assertThat(actual.allClose(expected, 1e-5, 1e-6, false)).as("inference features").isTrue();

			NDArray[] trainedExpected = forwardAndInputGradient(before, x);
			NDArray[] trainedActual = forwardAndInputGradient(after, x);
			assertThat(trainedActual[0].allClose(trainedExpected[0], 1e-5, 1e-6, false)).as("training features")
				.isTrue();
			assertThat(trainedActual[1].allClose(trainedExpected[1], 1e-5, 1e-6, false)).as("input gradient").isTrue();
		}
		finally {
			Files.deleteIfExists(rewritten);
		}
	}

	@Test
	void leavesFilesWithoutStridedUnpaddedConvolutionsAlone() throws Exception {
		assertThat(TracedConvolutions.unitStrideCopy(TrainingFixtures.fixture("tiny-backbone-partial.pt"))).isNull();
	}

	private static NDArray[] forwardAndInputGradient(PtSymbolBlock block, NDArray x) {
		NDArray input = x.duplicate();
		input.setRequiresGradient(true);
		NDArray out;
		try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
			out = block.forward(new ParameterStore(x.getManager(), false), new NDList(input), true).singletonOrThrow();
			collector.backward(out.mul(out).sum());
		}
		return new NDArray[] { out.duplicate(), input.getGradient().duplicate() };
	}

}
