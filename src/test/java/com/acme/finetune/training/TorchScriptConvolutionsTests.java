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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.acme.finetune.training.nn.TorchScriptConvolutions;

import static org.assertj.core.api.Assertions.assertThat;

class TorchScriptConvolutionsTests {

	@Test
	void rewritesOnlyStridedUnpaddedConvolutions() {
		String traced = "    _0 = torch._convolution(input, weight, None, [2, 2], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n";
		String scripted = "    _1 = torch.conv2d(input, weight, bias, [2, 2], [0, 0], [1, 1])\n";
		String unit = "    _2 = torch._convolution(x, weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n";
		String padded = "    _3 = torch.conv2d(x, weight, bias, [2, 2], [1, 1], [1, 1])\n";
		String pointwise = " if weight.size(2) == 1 and weight.size(3) == 1 else ";

		String rewritten = TorchScriptConvolutions.rewrite(traced + scripted + unit + padded);

		assertThat(rewritten).isEqualTo("    _0 = torch._convolution(torch.avg_pool2d(input, [1, 1], [2, 2])"
				+ pointwise + "input, weight, None, [1, 1]" + pointwise
				+ "[2, 2], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)\n"
				+ "    _1 = torch.conv2d(torch.avg_pool2d(input, [1, 1], [2, 2])" + pointwise
				+ "input, weight, bias, [1, 1]" + pointwise + "[2, 2], [0, 0], [1, 1])\n" + unit + padded);
	}

	/**
	 * The fixtures (traced and scripted) have a strided 1x1 shortcut and a strided
	 * unpadded 2x2 convolution: the rewritten module computes the same features in
	 * inference and in training mode, and the same input gradient.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "tiny-backbone-shortcut.pt", "tiny-backbone-shortcut-scripted.pt" })
	void theRewrittenModuleComputesTheSameValuesAndGradients(String fixture) throws Exception {
		Path original = TrainingFixtures.fixture(fixture);
		Path rewritten = TorchScriptConvolutions.unitStrideCopy(original);
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
		assertThat(TorchScriptConvolutions.unitStrideCopy(TrainingFixtures.fixture("tiny-backbone-partial.pt")))
			.isNull();
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
