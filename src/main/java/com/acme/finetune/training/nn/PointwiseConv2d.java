package com.acme.finetune.training.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;

/**
 * A bias-free 1x1 convolution (ResNet-50's strided shortcut) that, on CPUs, first takes
 * every {@code stride}-th pixel and then runs the unit-stride convolution. Same parameter
 * (an {@code O×C×1×1} weight), same saved form and the same values as a strided
 * {@link Conv2d}; GPUs run the strided convolution.
 *
 * <p>
 * Why: oneDNN 3.7 (inside PyTorch 2.7) computes the input gradient of a strided 1x1
 * convolution with its brgemm kernels, whose blocking heuristic does not hold on every
 * CPU. On an AMD EPYC (family 26) in a VM whose CPUID reports no cache topology, the
 * layer3/layer4 shortcuts (512→1024, 1024→2048) reach an integer division by zero in it
 * and the whole process dies with SIGFPE. Unit-stride 1x1 convolutions on NCHW input run
 * oneDNN's jit 1x1 kernels (forward and both gradients), which are sound there. The same
 * brgemm kernels serve every 1x1 convolution on channels-last input, where on that CPU
 * they also computed wrong values (layer2's 128→512 at batch 1, 4x4: off by 1.3 on values
 * of about 3), which is why {@link ResNet50Block} keeps CPU activations NCHW where the
 * CPU reports no cache hierarchy ({@link CpuLayout}).
 */
public final class PointwiseConv2d extends FoldableConv2d {

	private final int sampling;

	private PointwiseConv2d(Conv2d.Builder builder, int stride) {
		super(builder);
		this.sampling = stride;
	}

	/** A 1x1 convolution with {@code filters} outputs and the given stride. */
	public static PointwiseConv2d create(int filters, int stride) {
		return new PointwiseConv2d(Conv2d.builder()
			.setKernelShape(new Shape(1, 1))
			.setFilters(filters)
			.optStride(new Shape(stride, stride))
			.optBias(false), stride);
	}

	@Override
	NDList convolve(NDArray x, NDArray weight, NDArray bias) {
		if (this.sampling == 1 || x.getDevice().isGpu()) {
			return super.convolve(x, weight, bias);
		}
		// a 1x1 average is the pixel itself; its gradient is one cheap scatter
		NDArray sampled = Pool.avgPool2d(x, new Shape(1, 1), new Shape(this.sampling, this.sampling), new Shape(0, 0),
				false, false);
		return Conv2d.conv2d(sampled, weight, bias);
	}

}
