package com.acme.finetune.training.nn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

import com.acme.finetune.training.Stage;
import com.acme.finetune.training.artifact.ModelArtifact;

/**
 * A backbone plus linear head that the training loop drives without knowing whether the
 * backbone is DJL blocks or TorchScript.
 */
public interface Classifier extends Block {

	/** {@code resnet50} (DJL blocks) or {@code torchscript}; recorded in artifacts. */
	String kind();

	void configure(Stage upTo, boolean batchNormTrain);

	/** Backbone embedding with inference BatchNorm, shape (batch, featureDim). */
	NDList features(ParameterStore parameterStore, NDList inputs);

	Linear head();

	int featureDim();

	int numClasses();

	Classifier withNewHead(int numClasses);

	/**
	 * Learnable parameters (no BatchNorm statistics) grouped by {@code stem},
	 * {@code layer1}..{@code layer4}, {@code head} and {@code other} (outside the known
	 * stages, always frozen).
	 */
	Map<String, List<Parameter>> learnableParameters();

	/**
	 * The network that serves this classifier's convolutions on oneDNN's blocked layout
	 * on CPUs ({@link OneDnnResNet50}), or null where there is none.
	 */
	default OneDnnResNet50 oneDnnNetwork() {
		return null;
	}

	/**
	 * Bytes of weights held a second time for serving on oneDNN's blocked layout
	 * ({@link OneDnnResNet50}), 0 when not.
	 */
	default long oneDnnBytes() {
		OneDnnResNet50 network = oneDnnNetwork();
		return (network != null) ? network.bytes() : 0;
	}

	/**
	 * For CPU serving on oneDNN's blocked layout: packs the network a second time in
	 * bfloat16, for {@link #useBf16}. Returns false (and packs nothing) where the network
	 * does not run on that layout.
	 */
	default boolean addBf16(NDManager manager) {
		return false;
	}

	/**
	 * Serves in bfloat16 (convolutions, pooling and residual sums; the head, softmax and
	 * the features handed to it stay float) or in float from now on.
	 * @throws IllegalStateException when that precision's weights are not packed
	 */
	default void useBf16(boolean on) {
		OneDnnResNet50 network = oneDnnNetwork();
		if (network != null) {
			network.useBf16(on);
		}
		else if (on) {
			throw new IllegalStateException("This network has no bfloat16 weights");
		}
	}

	/** Whether the network serves in bfloat16 now. */
	default boolean servesBf16() {
		OneDnnResNet50 network = oneDnnNetwork();
		return network != null && network.bf16();
	}

	/** Frees the packed weights of the precision not in use. */
	default void dropUnusedPrecision() {
		OneDnnResNet50 network = oneDnnNetwork();
		if (network != null) {
			network.dropUnused();
		}
	}

	/**
	 * Trains (and evaluates during training) in bf16 mixed precision on CPUs from now on,
	 * or in fp32. Returns whether the network can: only the Java ResNet-50 can
	 * ({@link Bf16Stages}); others stay fp32 and return false.
	 */
	default boolean trainInBf16(boolean on) {
		return !on;
	}

	/** Whether the network trains in bf16 mixed precision now ({@link #trainInBf16}). */
	default boolean trainsInBf16() {
		return false;
	}

	/** Writes the model files of an artifact (see {@link ModelArtifact}). */
	void save(Path dir) throws IOException;

}
