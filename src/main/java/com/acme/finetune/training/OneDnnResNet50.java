package com.acme.finetune.training;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;

/**
 * A served {@link ResNet50Block}'s convolutions on oneDNN's blocked layout, for CPU
 * inference: the feature extractor runs as the small TorchScript module {@value #MODULE}
 * (made by {@code src/main/python/make_onednn_resnet50.py}) over mkldnn tensors, which
 * stay in oneDNN's blocked layout from the first convolution to the pooling. PyTorch's
 * NCHW convolutions instead reorder every input into that layout and every output back,
 * two extra passes over each activation: on a 2-core AMD EPYC the blocked forward pass
 * was 1.3× as fast at batch 16 and 1.4× at batch 1 (docs/benchmarks.md).
 *
 * <p>
 * Built once per loaded model from its BatchNorm-folded convolutions: the module keeps
 * its own copy of the weights, reordered for oneDNN (about 95 MB), attached to the
 * model's manager like the rest of it. Concurrent {@link #features} calls are safe: the
 * module has no state and reads the packed weights only.
 */
final class OneDnnResNet50 {

	static final String MODULE = "resnet50-onednn.pt";

	private final PtSymbolBlock module;

	private final PtNDArray[] packed;

	private final boolean plainShortcut;

	private OneDnnResNet50(PtSymbolBlock module, PtNDArray[] packed, boolean plainShortcut) {
		this.module = module;
		this.packed = packed;
		this.plainShortcut = plainShortcut;
	}

	/**
	 * Packs the folded convolutions (torchvision's order: stem, then per bottleneck
	 * conv1..conv3 and the projection shortcut) with their biases.
	 * @param plainShortcut store each residual shortcut plainly before the addition, for
	 * CPUs that report no cache sizes (see the module's script)
	 */
	static OneDnnResNet50 pack(PtNDManager manager, List<PtNDArray> weightsAndBiases, boolean plainShortcut)
			throws IOException {
		PtSymbolBlock module;
		try (InputStream in = OneDnnResNet50.class.getResourceAsStream(MODULE)) {
			if (in == null) {
				throw new IOException("TorchScript module not found on the class path: " + MODULE);
			}
			module = JniUtils.loadModule(manager, in, true, false);
		}
		try (IValue list = IValue.listFrom(weightsAndBiases.toArray(new PtNDArray[0]));
				IValue packed = IValueUtils.runMethod(module, "pack", list)) {
			return new OneDnnResNet50(module, packed.toTensorArray(manager), plainShortcut);
		}
		catch (RuntimeException ex) {
			module.close();
			throw ex;
		}
	}

	/** The packed weights' size in bytes. */
	long bytes() {
		long bytes = 0;
		for (PtNDArray array : this.packed) {
			bytes += array.getShape().size() * array.getDataType().getNumOfBytes();
		}
		return bytes;
	}

	/** The N×2048 pooled features of an NCHW float batch, in {@code x}'s manager. */
	NDArray features(NDArray x) {
		PtNDArray input = (PtNDArray) x;
		try (IValue in = IValue.from(input);
				IValue weights = IValue.listFrom(this.packed);
				IValue plain = IValue.from(this.plainShortcut);
				IValue out = this.module.forward(in, weights, plain)) {
			return out.toTensor(input.getManager());
		}
	}

}
