package com.acme.finetune.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.acme.finetune.training.nn.PointwiseConv2d;

import static org.assertj.core.api.Assertions.assertThat;

class PointwiseConv2dTests {

	/**
	 * The 1x1 convolution against its definition (broadcast and sum, no convolution
	 * kernel involved): output and both gradients, strided and not, including a batch of
	 * one at a small spatial size and the channels oneDNN's strided kernels failed on.
	 */
	@ParameterizedTest
	@CsvSource({ "1, 128, 512, 4, 1", "3, 256, 512, 8, 2", "2, 1024, 2048, 14, 2", "2, 512, 1024, 7, 2",
			"4, 64, 256, 5, 1", "1, 2048, 512, 1, 1" })
	void matchesTheNchwConvolutionForwardAndBackward(int batch, int in, int out, int size, int stride) {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(7);
			PointwiseConv2d block = PointwiseConv2d.create(out, stride);
			block.initialize(manager, DataType.FLOAT32, new Shape(batch, in, size, size));
			NDArray weight = block.getParameters().get("weight").getArray();
			NDArray x = manager.randomNormal(new Shape(batch, in, size, size));

			NDArray input = x.duplicate();
			input.setRequiresGradient(true);
			NDArray ours;
			NDArray oursWeightGrad;
			try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
				ours = block.forward(new ParameterStore(manager, false), new NDList(input), true).singletonOrThrow();
				collector.backward(ours.mul(ours).sum());
			}
			NDArray oursInputGrad = input.getGradient().duplicate();
			oursWeightGrad = weight.getGradient().duplicate();

			// the definition, by broadcasting: y[n,o,h,w] = sum_c x[n,c,h·s,w·s] · w[o,c]
			NDArray plainInput = x.duplicate();
			NDArray plainWeight = weight.duplicate();
			plainInput.setRequiresGradient(true);
			plainWeight.setRequiresGradient(true);
			NDArray expected;
			try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
				NDArray sampled = plainInput.get(new NDIndex(":, :, ::" + stride + ", ::" + stride));
				Shape s = sampled.getShape();
				expected = sampled.expandDims(1)
					.mul(plainWeight.reshape(1, out, in, 1, 1))
					.sum(new int[] { 2 })
					.reshape(s.get(0), out, s.get(2), s.get(3));
				collector.backward(expected.mul(expected).sum());
			}

			assertThat(ours.getShape()).isEqualTo(expected.getShape());
			assertClose(ours, expected);
			assertClose(oursInputGrad, plainInput.getGradient());
			assertClose(oursWeightGrad, plainWeight.getGradient());
		}
	}

	private static void assertClose(NDArray actual, NDArray expected) {
		float scale = expected.abs().max().getFloat();
		float diff = actual.sub(expected).abs().max().getFloat();
		assertThat(diff).isLessThanOrEqualTo(1e-5f * Math.max(1f, scale));
	}

}
