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

import com.acme.finetune.training.artifact.ArtifactBlockFactory;
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

	@Test
	void guardsTheInputLayoutOfEveryConvolution() {
		String traced = "    _0 = torch._convolution(x, weight, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, False, False, True, True)\n";
		String nested = "    _1 = torch.conv2d(torch.avg_pool2d(x, [1, 1], [2, 2]) if w.size(2) == 1 else x, w, b, [1, 1])\n";
		String other = "    _2 = torch.relu(x)\n";

		String guarded = TorchScriptConvolutions.layoutGuard(traced + nested + other);

		assertThat(guarded).isEqualTo("    _0 = torch._convolution(torch.contiguous((x), memory_format=2) if "
				+ offBlocks("weight") + " else torch.contiguous((x)), weight, None, [1, 1], [1, 1], [1, 1], False, "
				+ "[0, 0], 1, False, False, True, True)\n"
				+ "    _1 = torch.conv2d(torch.contiguous((torch.avg_pool2d(x, [1, 1], [2, 2]) if w.size(2) == 1 else x), "
				+ "memory_format=2) if " + offBlocks("w")
				+ " else torch.contiguous((torch.avg_pool2d(x, [1, 1], [2, 2]) if w.size(2) == 1 else x)), w, b, "
				+ "[1, 1])\n" + other);
	}

	private static String offBlocks(String w) {
		return w + ".dim() == 4 and " + w + ".size(1) > 1 and " + w + ".size(2) > 1 and (" + w
				+ ".size(0) % 16 != 0 or (" + w + ".size(1) % 16 != 0 and " + w + ".size(1) > 4))";
	}

	/**
	 * 3x3 convolutions of 24 -> 40 -> 24 channels, guarded, compute their definition
	 * (forward and input gradient, batch 8). Unguarded, oneDNN 3.7 got both wrong by
	 * 0.2-0.5 (relative) on an AMD EPYC VM that reports no cache sizes.
	 */
	@Test
	void guardedConvolutionsOffTheChannelBlocksComputeTheirDefinition() throws Exception {
		Path guarded = TorchScriptConvolutions.rewrittenCopy(TrainingFixtures.fixture("tiny-off-block-convs.pt"), true,
				true);
		assertThat(guarded).isNotNull();
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			PtSymbolBlock block = ArtifactBlockFactory.loadModule(manager, guarded, true);
			float[] w1 = block.getParameters().get("conv1.weight").getArray().toFloatArray();
			float[] w2 = block.getParameters().get("conv2.weight").getArray().toFloatArray();
			NDArray x = manager.randomNormal(new Shape(8, 24, 8, 8));
			NDArray[] actual = forwardAndInputGradient(block, x);

			float[] xs = x.toFloatArray();
			double[] h = Conv3x3.forward(xs, 8, 24, 8, w1, 40, 1);
			double[] y = Conv3x3.forward(h, 8, 40, 8, w2, 24, 2);
			double[] dy = new double[y.length];
			for (int i = 0; i < y.length; i++) {
				dy[i] = 2 * y[i];
			}
			double[] dh = Conv3x3.inputGradient(dy, 8, 40, 8, w2, 24, 2);
			double[] dx = Conv3x3.inputGradient(dh, 8, 24, 8, w1, 40, 1);
			assertThat(relativeError(actual[0].toFloatArray(), y)).as("output").isLessThan(1e-4);
			assertThat(relativeError(actual[1].toFloatArray(), dx)).as("input gradient").isLessThan(1e-4);
		}
		finally {
			Files.deleteIfExists(guarded);
		}
	}

	private static double relativeError(float[] actual, double[] expected) {
		double error = 0;
		double scale = 0;
		for (int i = 0; i < expected.length; i++) {
			error = Math.max(error, Math.abs(actual[i] - expected[i]));
			scale = Math.max(scale, Math.abs(expected[i]));
		}
		return error / scale;
	}

	/** A padded (1) 3x3 convolution without bias, NCHW, computed by its definition. */
	private static final class Conv3x3 {

		static double[] forward(float[] x, int n, int cin, int size, float[] w, int cout, int stride) {
			double[] in = new double[x.length];
			for (int i = 0; i < x.length; i++) {
				in[i] = x[i];
			}
			return forward(in, n, cin, size, w, cout, stride);
		}

		static double[] forward(double[] x, int n, int cin, int size, float[] w, int cout, int stride) {
			int out = (size - 1) / stride + 1;
			double[] y = new double[n * cout * out * out];
			visit(n, cin, size, cout, stride, (xi, wi, yi) -> y[yi] += x[xi] * w[wi]);
			return y;
		}

		/** The gradient of the input for {@code dy}, the gradient of the output. */
		static double[] inputGradient(double[] dy, int n, int cin, int size, float[] w, int cout, int stride) {
			double[] dx = new double[n * cin * size * size];
			visit(n, cin, size, cout, stride, (xi, wi, yi) -> dx[xi] += dy[yi] * w[wi]);
			return dx;
		}

		private interface Term {

			void add(int xi, int wi, int yi);

		}

		private static void visit(int n, int cin, int size, int cout, int stride, Term term) {
			int out = (size - 1) / stride + 1;
			for (int b = 0; b < n; b++) {
				for (int co = 0; co < cout; co++) {
					for (int oy = 0; oy < out; oy++) {
						for (int ox = 0; ox < out; ox++) {
							int yi = ((b * cout + co) * out + oy) * out + ox;
							for (int ci = 0; ci < cin; ci++) {
								for (int ky = 0; ky < 3; ky++) {
									for (int kx = 0; kx < 3; kx++) {
										int iy = oy * stride - 1 + ky;
										int ix = ox * stride - 1 + kx;
										if (iy >= 0 && ix >= 0 && iy < size && ix < size) {
											term.add(((b * cin + ci) * size + iy) * size + ix,
													((co * cin + ci) * 3 + ky) * 3 + kx, yi);
										}
									}
								}
							}
						}
					}
				}
			}
		}

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
