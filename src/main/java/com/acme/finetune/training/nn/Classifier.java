package com.acme.finetune.training.nn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDList;
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
	 * Bytes of weights held a second time for serving on oneDNN's blocked layout
	 * ({@link OneDnnResNet50}), 0 when not.
	 */
	default long oneDnnBytes() {
		return 0;
	}

	/** Writes the model files of an artifact (see {@link ModelArtifact}). */
	void save(Path dir) throws IOException;

}
