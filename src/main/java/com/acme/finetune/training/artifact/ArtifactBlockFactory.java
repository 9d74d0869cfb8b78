package com.acme.finetune.training.artifact;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;

import com.acme.finetune.training.TorchScriptPolicy;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptConvolutions;

/**
 * Rebuilds a saved model's network for DJL's {@code Criteria}: named as
 * {@code blockFactory} in the artifact's {@code serving.properties}, and shipped with its
 * few classes as a jar inside the artifact, so plain DJL finds it without this service.
 * It reads the parameter files itself (the artifact sets {@code hasParameter=false}),
 * which keeps the file names independent of the directory name DJL would otherwise derive
 * them from.
 */
public class ArtifactBlockFactory implements BlockFactory {

	private static final long serialVersionUID = 1L;

	@Override
	public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) {
		String network = String.valueOf(arguments.get("network"));
		int numClasses = Integer.parseInt(String.valueOf(arguments.get("numClasses")));
		try {
			Classifier classifier = load(model.getNDManager(), modelPath, network, numClasses,
					Boolean.parseBoolean(String.valueOf(arguments.get("classifierRemoved"))),
					Integer.parseInt(String.valueOf(arguments.get("featureDim"))), false);
			// a loaded artifact only predicts: fold BatchNorm into the convolutions and,
			// on CPUs, keep activations in oneDNN's blocked layout
			if (classifier instanceof ResNet50Block resnet) {
				resnet.foldBatchNorm();
				if (CpuLayout.BLOCKED_INFERENCE) {
					resnet.useOneDnnLayout(model.getNDManager());
				}
			}
			else if (classifier instanceof TorchScriptClassifier torchScript && CpuLayout.BLOCKED_INFERENCE) {
				// torchvision's ResNet-50 (fine-tuned from resnet50-imagenet) likewise
				torchScript.useOneDnnLayout(model.getNDManager(),
						modelPath.resolve(TorchScriptClassifier.BACKBONE_FILE), !CpuLayout.CACHES_REPORTED);
			}
			return classifier;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	public static Classifier load(NDManager manager, Path dir, String network, int numClasses,
			boolean classifierRemoved, int featureDim, boolean trainable) throws IOException {
		if (ResNet50Block.KIND.equals(network)) {
			return ResNet50Block.load(manager, dir, numClasses);
		}
		if (!TorchScriptClassifier.KIND.equals(network)) {
			throw new IOException("Unknown network kind '" + network + "' in " + dir.getFileName());
		}
		PtSymbolBlock backbone = loadBackbone(manager, dir.resolve(TorchScriptClassifier.BACKBONE_FILE), trainable);
		Linear head = ResNet50Block.newHead(numClasses);
		try (DataInputStream in = new DataInputStream(
				new BufferedInputStream(Files.newInputStream(dir.resolve(TorchScriptClassifier.HEAD_FILE))))) {
			head.loadParameters(manager, in);
		}
		catch (MalformedModelException ex) {
			throw new IOException("Unreadable head parameters in " + dir.getFileName(), ex);
		}
		return new TorchScriptClassifier(backbone, head, featureDim, numClasses, classifierRemoved);
	}

	/**
	 * A backbone that will be trained gets its strided 1x1 convolutions rewritten first,
	 * and on CPUs that report no cache sizes every backbone gets its convolutions' input
	 * layouts guarded ({@link TorchScriptConvolutions}). Every TorchScript file this
	 * service runs passes through here or {@link #loadModule}: nothing outside
	 * {@link TorchScriptPolicy}'s allow-list reaches libtorch.
	 * @throws UnsafeTorchScriptException if the file's code is not allowed
	 */
	public static PtSymbolBlock loadBackbone(NDManager manager, Path file, boolean trainable) throws IOException {
		Path rewritten = TorchScriptConvolutions.rewrittenCopy(file, trainable, !CpuLayout.CACHES_REPORTED);
		try {
			return loadModule(manager, (rewritten != null) ? rewritten : file, trainable);
		}
		finally {
			if (rewritten != null) {
				Files.deleteIfExists(rewritten);
			}
		}
	}

	/** Loads a TorchScript file that passes {@link TorchScriptPolicy}, as it is. */
	public static PtSymbolBlock loadModule(NDManager manager, Path file, boolean trainable) {
		TorchScriptPolicy.check(file);
		// trainParam: without it PyTorch loads inference tensors that can never be
		// unfrozen
		return JniUtils.loadModule((PtNDManager) manager, file, true, new String[0], new String[0], trainable);
	}

}
