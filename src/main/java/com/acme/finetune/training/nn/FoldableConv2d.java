package com.acme.finetune.training.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A bias-free convolution that can take over the inference transform of the BatchNorm
 * after it: {@code w' = w·γ/√(σ²+ε)} per output channel and {@code b' = β − μ·γ/√(σ²+ε)},
 * so a served model makes one pass over each activation instead of two (5–8 % of a
 * ResNet-50 forward pass at batch 16 on a 2-core CPU). Folding rewrites the weight in
 * place (no second copy of the model in memory), so only blocks that will never train
 * again are folded: models loaded for serving. Same parameter and saved form as
 * {@link Conv2d}.
 */
public class FoldableConv2d extends Conv2d {

	private NDArray foldedBias;

	FoldableConv2d(Conv2d.Builder builder) {
		super(builder);
	}

	/** A {@code kernel}×{@code kernel} convolution without bias. */
	static FoldableConv2d create(int filters, int kernel, int stride, int padding) {
		return new FoldableConv2d(Conv2d.builder()
			.setKernelShape(new Shape(kernel, kernel))
			.setFilters(filters)
			.optStride(new Shape(stride, stride))
			.optPadding(new Shape(padding, padding))
			.optBias(false));
	}

	/**
	 * Folds {@code norm}'s inference transform (its current statistics and affine
	 * parameters) into this convolution: the weight is scaled in place and a bias added;
	 * {@code norm} then passes its input through. Inference only from then on.
	 */
	void fold(BatchNorm2d norm) {
		NDArray[] scaleShift = norm.inferenceScaleShift();
		try (NDArray scale = scaleShift[0]; NDArray perFilter = scale.reshape(scale.getShape().get(0), 1, 1, 1)) {
			this.weight.getArray().muli(perFilter);
		}
		this.foldedBias = scaleShift[1];
		norm.foldedIntoConvolution();
	}

	/** The bias {@link #fold} added, or null while nothing is folded. */
	NDArray foldedBias() {
		return this.foldedBias;
	}

	@Override
	protected final NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
			PairList<String, Object> params) {
		NDArray x = inputs.singletonOrThrow();
		if (training && this.foldedBias != null) {
			throw new IllegalStateException("BatchNorm is folded into this convolution: inference only");
		}
		return convolve(x, parameterStore.getValue(this.weight, x.getDevice(), training), this.foldedBias);
	}

	/** The convolution of {@code x} with these weights and an optional bias. */
	NDList convolve(NDArray x, NDArray weight, NDArray bias) {
		return Conv2d.conv2d(x, weight, bias, this.stride, this.padding, this.dilation, this.groups);
	}

}
