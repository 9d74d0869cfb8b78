package com.acme.finetune.training.nn;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * BatchNorm over the channels of an NCHW array, straight into {@code torch.batch_norm}:
 * DJL's {@link BatchNorm} with its channel axis 1 wraps the call in two
 * {@code transpose(1, 1)} views, so its output is a view, and autograd turns every
 * in-place operation on it (the ReLU and residual add that follow) into a slow
 * copy-slices pass. Same parameters (names, types, order), same saved form (version 2,
 * input shapes, channel count) as DJL's BatchNorm, so saved models load either way.
 */
public final class BatchNorm2d extends AbstractBlock {

	private static final byte VERSION = 2;

	/** torchvision's: eps 1e-5, the running statistics move 10 % towards each batch. */
	private static final double EPSILON = 1e-5;

	private static final double MOMENTUM = 0.1;

	/** How far the running statistics move towards a training batch's. */
	private double momentum = MOMENTUM;

	private final Parameter gamma;

	private final Parameter beta;

	private final Parameter runningMean;

	private final Parameter runningVar;

	private long channels;

	private boolean folded;

	public BatchNorm2d() {
		super(VERSION);
		this.gamma = addParameter(Parameter.builder().setName("gamma").setType(Parameter.Type.GAMMA).build());
		this.beta = addParameter(Parameter.builder().setName("beta").setType(Parameter.Type.BETA).build());
		this.runningMean = addParameter(Parameter.builder()
			.setName("runningMean")
			.setType(Parameter.Type.RUNNING_MEAN)
			.optRequiresGrad(false)
			.build());
		this.runningVar = addParameter(Parameter.builder()
			.setName("runningVar")
			.setType(Parameter.Type.RUNNING_VAR)
			.optRequiresGrad(false)
			.build());
	}

	@Override
	protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
			PairList<String, Object> params) {
		NDArray x = inputs.singletonOrThrow();
		if (this.folded && !training) {
			// the convolution before it applies this transform (FoldableConv2d)
			return inputs;
		}
		// argument order as DJL's own PyTorch engine passes it: input, running mean,
		// running variance, weight, bias
		return new NDList(JniUtils.batchNorm((PtNDArray) x, value(parameterStore, this.runningMean, x, training),
				value(parameterStore, this.runningVar, x, training), value(parameterStore, this.gamma, x, training),
				value(parameterStore, this.beta, x, training), training, this.momentum, EPSILON));
	}

	/**
	 * The inference transform as {@code y = scale·x + shift} per channel:
	 * {@code scale = γ/√(σ²+ε)}, {@code shift = β − μ·scale}; new arrays the caller owns.
	 */
	NDArray[] inferenceScaleShift() {
		NDArray gamma = this.gamma.getArray();
		try (NDArray std = this.runningVar.getArray().add((float) EPSILON).sqrt()) {
			NDArray scale = gamma.div(std);
			try (NDArray meanScaled = this.runningMean.getArray().mul(scale)) {
				return new NDArray[] { scale, this.beta.getArray().sub(meanScaled) };
			}
		}
	}

	/** Copies of the running mean and variance. */
	float[][] runningStatistics() {
		return new float[][] { this.runningMean.getArray().toFloatArray(), this.runningVar.getArray().toFloatArray() };
	}

	/** Sets the running mean and variance (as {@link #runningStatistics()} gave them). */
	void runningStatistics(float[] mean, float[] variance) {
		if (mean.length != this.runningMean.getArray().size() || variance.length != mean.length) {
			throw new IllegalArgumentException("expected " + this.runningMean.getArray().size() + " channels, got "
					+ mean.length + " and " + variance.length);
		}
		this.runningMean.getArray().set(mean);
		this.runningVar.getArray().set(variance);
	}

	/**
	 * Sets how far the running statistics move towards the next training batch's: 1 / k
	 * for the k-th of a series averages the series with equal weight
	 * ({@link ResNet50Block#calibrateBatchNorm}); {@code null} restores torchvision's
	 * 0.1.
	 */
	void momentum(Double momentum) {
		this.momentum = (momentum != null) ? momentum : MOMENTUM;
	}

	double momentum() {
		return this.momentum;
	}

	/**
	 * Gamma, beta, running mean and running variance, the order {@link Bf16Stages}
	 * passes.
	 */
	List<Parameter> parametersInOrder() {
		return List.of(this.gamma, this.beta, this.runningMean, this.runningVar);
	}

	/**
	 * From now on inference passes the input through: a convolution applies the
	 * transform.
	 */
	void foldedIntoConvolution() {
		this.folded = true;
	}

	private static PtNDArray value(ParameterStore store, Parameter parameter, NDArray x, boolean training) {
		return (PtNDArray) store.getValue(parameter, x.getDevice(), training);
	}

	@Override
	public Shape[] getOutputShapes(Shape[] inputShapes) {
		return new Shape[] { inputShapes[0] };
	}

	@Override
	protected void beforeInitialize(Shape... inputShapes) {
		super.beforeInitialize(inputShapes);
		this.channels = inputShapes[0].get(1);
	}

	@Override
	public void prepare(Shape[] inputShapes) {
		Shape shape = new Shape(this.channels);
		this.gamma.setShape(shape);
		this.beta.setShape(shape);
		this.runningMean.setShape(shape);
		this.runningVar.setShape(shape);
	}

	@Override
	protected void saveMetadata(DataOutputStream os) throws IOException {
		saveInputShapes(os);
		os.writeLong(this.channels);
	}

	@Override
	public void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
		if (loadVersion != VERSION) {
			throw new MalformedModelException("Unsupported BatchNorm encoding version: " + loadVersion);
		}
		readInputShapes(is);
		this.channels = is.readLong();
	}

}
