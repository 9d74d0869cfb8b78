package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.training.ParameterStore;

import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.artifact.ArtifactMetadata;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;

/** Turns a {@link BaseModel} into a {@link Classifier} with an n-way head. */
final class Backbones {

	private Backbones() {
	}

	/**
	 * The network for a run; {@link Loaded#newHead()} says whether the head is new (and
	 * must be initialised) or continues a fine-tuned model with the same labels.
	 */
	static Loaded load(BaseModel base, List<String> labels, int imageSize, NDManager manager, boolean trainable) {
		int n = labels.size();
		switch (base.kind()) {
			case SCRATCH:
				return new Loaded(ResNet50Block.create(n), true);
			case IMAGENET:
				return new Loaded(loadTorchScript(ImagenetBackbone.prepare(base.location()), true, n, imageSize,
						manager, trainable), true);
			case TORCHSCRIPT: {
				TorchScriptClassifier classifier = loadTorchScript(base.location(), false, n, imageSize, manager,
						trainable);
				if (trainable) {
					classifier.setUpdatesStatisticsInTrainMode(
							updatesStatisticsInTrainMode(base.location(), imageSize, manager));
				}
				return new Loaded(classifier, true);
			}
			case FINETUNED:
				return loadFineTuned(base, labels, manager, trainable);
			default:
				throw new IllegalArgumentException("Unknown base model kind " + base.kind());
		}
	}

	private static Loaded loadFineTuned(BaseModel base, List<String> labels, NDManager manager, boolean trainable) {
		Path dir = base.location();
		try {
			ArtifactMetadata metadata = ArtifactMetadata.read(dir);
			Classifier classifier = ArtifactBlockFactory.load(manager, dir, metadata.network(), metadata.numClasses(),
					metadata.classifierRemoved(), metadata.featureDim(), trainable);
			if (trainable && classifier instanceof TorchScriptClassifier torchScript) {
				torchScript.setUpdatesStatisticsInTrainMode(
						updatesStatisticsInTrainMode(dir.resolve(TorchScriptClassifier.BACKBONE_FILE),
								metadata.preprocessing().imageSize(), manager));
			}
			if (metadata.labels().equals(labels)) {
				return new Loaded(classifier, false);
			}
			// different classes: the old head's outputs mean nothing here
			return new Loaded(classifier.withNewHead(labels.size()), true);
		}
		catch (IOException | EngineException ex) {
			throw new InvalidBackboneException("Base model " + base.id() + " cannot be loaded: " + ex.getMessage(), ex);
		}
	}

	/**
	 * Loads a TorchScript feature extractor and checks it on a dummy batch of two images:
	 * the output must be one feature vector per image.
	 */
	static TorchScriptClassifier loadTorchScript(Path file, boolean classifierRemoved, int numClasses, int imageSize,
			NDManager manager, boolean trainable) {
		if (file == null || !Files.isRegularFile(file)) {
			throw new InvalidBackboneException("TorchScript backbone file not found: " + file, null);
		}
		PtSymbolBlock block;
		try {
			block = ArtifactBlockFactory.loadBackbone(manager, file, trainable);
		}
		catch (IOException | EngineException | IllegalArgumentException ex) {
			throw new InvalidBackboneException("Not a loadable TorchScript module: " + ex.getMessage(), ex);
		}
		int featureDim;
		try (NDManager probe = manager.newSubManager()) {
			NDArray dummy = probe.randomUniform(0f, 1f, new Shape(2, 3, imageSize, imageSize));
			NDList out = block.forward(new ParameterStore(probe, false), new NDList(dummy), false, null);
			Shape shape = out.get(0).getShape();
			if (shape.dimension() < 2 || shape.get(0) != 2 || (shape.dimension() > 2 && shape.slice(2).size() != 1)) {
				throw new InvalidBackboneException("The backbone must map a batch of images (N, 3, " + imageSize + ", "
						+ imageSize + ") to feature vectors (N, D); it returned " + shape, null);
			}
			featureDim = (int) shape.get(1);
		}
		catch (EngineException ex) {
			block.close();
			throw new InvalidBackboneException("The backbone fails on a dummy batch (2, 3, " + imageSize + ", "
					+ imageSize + "): " + ex.getMessage(), ex);
		}
		catch (InvalidBackboneException ex) {
			block.close();
			throw ex;
		}
		return new TorchScriptClassifier(block, ResNet50Block.newHead(numClasses), featureDim, numClasses,
				classifierRemoved);
	}

	/**
	 * Whether running the module in training mode changes its later inference output,
	 * i.e. it updates BatchNorm statistics (scripted modules do, eval-mode traces do
	 * not). Probed on a separate copy, which is then discarded.
	 */
	static boolean updatesStatisticsInTrainMode(Path file, int imageSize, NDManager manager) {
		try (NDManager probe = manager.newSubManager()) {
			PtSymbolBlock copy = ArtifactBlockFactory.loadModule(probe, file, true);
			try {
				ParameterStore store = new ParameterStore(probe, false);
				NDArray x = probe.randomNormal(new Shape(4, 3, imageSize, imageSize)).mul(3).add(1);
				NDArray before = copy.forward(store, new NDList(x), false, null).get(0).duplicate();
				copy.forward(store, new NDList(x), true, null);
				NDArray after = copy.forward(store, new NDList(x), false, null).get(0);
				return !before.allClose(after, 1e-6, 1e-7, false);
			}
			finally {
				copy.close();
			}
		}
	}

	static List<Stage> stages(Classifier classifier) {
		List<Stage> stages = new ArrayList<>();
		for (Stage stage : Stage.values()) {
			if (stage != Stage.NONE && !classifier.learnableParameters().get(stage.id()).isEmpty()) {
				stages.add(stage);
			}
		}
		return stages;
	}

	record Loaded(Classifier classifier, boolean newHead) {
	}

}
