package com.acme.finetune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A bias-free 1x1 convolution that runs on CPUs as a matrix product over the channels
 * ({@code [N·H·W, C] × [C, O]}, after taking every {@code stride}-th pixel) instead of
 * through oneDNN. Same parameter (an {@code O×C×1×1} weight), same saved form and the
 * same result as {@link Conv2d} up to float rounding; GPUs run the ordinary convolution.
 *
 * <p>
 * Why: oneDNN 3.7 (inside PyTorch 2.7) picks its brgemm 1x1 kernels for channels-last
 * input, and their blocking heuristic does not hold on every CPU. On an AMD EPYC (family
 * 26) in a VM whose CPUID reports no cache topology, small-spatial 1x1 convolutions come
 * out wrong (ResNet-50 at 32 px, batch 1: layer2's 128→512 convolution differs from the
 * NCHW result by 1.3 on values of about 3), and five channel pairs of layer3/layer4 reach
 * an integer division by zero that kills the whole process with SIGFPE when the
 * convolution is created, forward or backward. Nothing in PyTorch's or DJL's API steers
 * oneDNN away from those kernels, so 1x1 convolutions do not go through it: BLAS matrix
 * products are the same arithmetic and dependable. 3x3 and 7x7 convolutions stay on
 * oneDNN (checked against the NCHW kernels, forward and both gradients, at 32/64/224 px
 * and batch 1/3/16).
 *
 * <p>
 * On channels-last input (what {@link ResNet50Block} feeds it) the NHWC view is already
 * contiguous, so the product reads the activation in place, and its output is again a
 * channels-last NCHW tensor.
 */
final class PointwiseConv2d extends Conv2d {

	private final int stride;

	private PointwiseConv2d(Conv2d.Builder builder, int stride) {
		super(builder);
		this.stride = stride;
	}

	/** A 1x1 convolution with {@code filters} outputs and the given stride. */
	static PointwiseConv2d create(int filters, int stride) {
		return new PointwiseConv2d(Conv2d.builder()
			.setKernelShape(new Shape(1, 1))
			.setFilters(filters)
			.optStride(new Shape(stride, stride))
			.optBias(false), stride);
	}

	@Override
	protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
			PairList<String, Object> params) {
		NDArray x = inputs.singletonOrThrow();
		if (x.getDevice().isGpu()) {
			return super.forwardInternal(parameterStore, inputs, training, params);
		}
		NDArray w = parameterStore.getValue(this.weight, x.getDevice(), training);
		if (this.stride != 1) {
			x = x.get(new NDIndex(":, :, ::" + this.stride + ", ::" + this.stride));
		}
		Shape s = x.getShape();
		long channels = s.get(1);
		NDArray y = x.transpose(0, 2, 3, 1)
			.reshape(-1, channels)
			.matMul(w.reshape(this.filters, channels).transpose())
			.reshape(s.get(0), s.get(2), s.get(3), this.filters)
			.transpose(0, 3, 1, 2);
		return new NDList(y);
	}

}
