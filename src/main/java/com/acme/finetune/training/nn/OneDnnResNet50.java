package com.acme.finetune.training.nn;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
public final class OneDnnResNet50 {

	public static final String MODULE = "resnet50-onednn.pt";

	private final PtSymbolBlock module;

	/** The float weights; null once dropped for the bfloat16 ones. */
	private PtNDArray[] packed;

	/**
	 * The same weights in bfloat16 (null until {@link #addBf16}); Java never reads them:
	 * DJL 0.36 maps no bfloat16 type and aborts the process when asked for one.
	 */
	private PtNDArray[] packedBf16;

	/** Which of the two {@link #features} runs on. */
	private volatile boolean bf16;

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

	/**
	 * Packs torchvision's ResNet-50 from a TorchScript file's state (names like
	 * {@code layer1.0.conv1.weight}, {@code layer1.0.bn1.running_mean}), folding each
	 * BatchNorm (eps 1e-5) into its convolution. Fails when a tensor is missing or
	 * misshapen; whether the module computes this function is for the caller to check.
	 */
	static OneDnnResNet50 packTorchvision(PtNDManager manager, Map<String, TorchScriptState.Tensor> state,
			boolean plainShortcut) throws IOException {
		try (NDManager scope = manager.newSubManager()) {
			return pack(manager, torchvisionFolded(scope, state), plainShortcut);
		}
	}

	/**
	 * torchvision's ResNet-50 convolutions from a TorchScript file's state, each with its
	 * BatchNorm (eps 1e-5) folded in, in {@code scope}.
	 */
	static List<PtNDArray> torchvisionFolded(NDManager scope, Map<String, TorchScriptState.Tensor> state)
			throws IOException {
		List<String[]> pairs = new ArrayList<>();
		pairs.add(new String[] { "conv1", "bn1" });
		int[] blocks = { 3, 4, 6, 3 };
		for (int s = 0; s < blocks.length; s++) {
			for (int b = 0; b < blocks[s]; b++) {
				String block = "layer" + (s + 1) + "." + b + ".";
				for (int c = 1; c <= 3; c++) {
					pairs.add(new String[] { block + "conv" + c, block + "bn" + c });
				}
				if (b == 0) {
					pairs.add(new String[] { block + "downsample.0", block + "downsample.1" });
				}
			}
		}
		List<PtNDArray> weightsAndBiases = new ArrayList<>();
		for (String[] pair : pairs) {
			TorchScriptState.Tensor weight = tensor(state, pair[0] + ".weight", 4, 0);
			int filters = (int) weight.shape()[0];
			float[] gamma = tensor(state, pair[1] + ".weight", 1, filters).values();
			float[] beta = tensor(state, pair[1] + ".bias", 1, filters).values();
			float[] mean = tensor(state, pair[1] + ".running_mean", 1, filters).values();
			float[] variance = tensor(state, pair[1] + ".running_var", 1, filters).values();
			float[] w = weight.values().clone();
			float[] bias = new float[filters];
			int perFilter = w.length / filters;
			for (int o = 0; o < filters; o++) {
				float scale = (float) (gamma[o] / Math.sqrt(variance[o] + 1e-5));
				for (int i = o * perFilter; i < (o + 1) * perFilter; i++) {
					w[i] *= scale;
				}
				bias[o] = beta[o] - mean[o] * scale;
			}
			weightsAndBiases.add((PtNDArray) scope.create(w, new Shape(weight.shape())));
			weightsAndBiases.add((PtNDArray) scope.create(bias));
		}
		return weightsAndBiases;
	}

	/** A tensor of {@code dims} dimensions, the first {@code length} when positive. */
	private static TorchScriptState.Tensor tensor(Map<String, TorchScriptState.Tensor> state, String name, int dims,
			int length) throws IOException {
		TorchScriptState.Tensor t = state.get(name);
		if (t == null || t.shape().length != dims || (length > 0 && t.shape()[0] != length)) {
			throw new IOException("Not torchvision's ResNet-50: " + name + " is missing or misshapen");
		}
		return t;
	}

	/** The packed weights' size in bytes (both copies while both are held). */
	long bytes() {
		return bytes(this.packed, 4) + bytes(this.packedBf16, 2);
	}

	private static long bytes(PtNDArray[] arrays, int bytesPerValue) {
		long bytes = 0;
		if (arrays != null) {
			for (PtNDArray array : arrays) {
				bytes += array.getShape().size() * bytesPerValue;
			}
		}
		return bytes;
	}

	/**
	 * Packs the same network (the same folded convolutions as {@link #pack} got) a second
	 * time, in bfloat16; {@link #useBf16} switches to it.
	 */
	void addBf16(PtNDManager manager, List<PtNDArray> weightsAndBiases) {
		try (IValue list = IValue.listFrom(weightsAndBiases.toArray(new PtNDArray[0]));
				IValue bf16 = IValue.from(true);
				IValue packed = IValueUtils.runMethod(this.module, "pack_as", list, bf16)) {
			PtNDArray[] arrays = packed.toTensorArray(manager);
			if (this.packedBf16 != null) {
				for (PtNDArray array : this.packedBf16) {
					array.close();
				}
			}
			this.packedBf16 = arrays;
		}
	}

	/** Runs {@link #features} in bfloat16 (true) or float. */
	void useBf16(boolean on) {
		if ((on ? this.packedBf16 : this.packed) == null) {
			throw new IllegalStateException("No " + (on ? "bfloat16" : "float") + " weights packed");
		}
		this.bf16 = on;
	}

	boolean bf16() {
		return this.bf16;
	}

	/** Frees the weights of the precision not in use. */
	void dropUnused() {
		if (this.bf16 && this.packed != null) {
			close(this.packed);
			this.packed = null;
		}
		else if (!this.bf16 && this.packedBf16 != null) {
			close(this.packedBf16);
			this.packedBf16 = null;
		}
	}

	private static void close(PtNDArray[] arrays) {
		if (arrays != null) {
			for (PtNDArray array : arrays) {
				array.close();
			}
		}
	}

	/**
	 * Whether this network computes what {@code reference} computes: the features of a
	 * fixed random batch (2×3×64×64) within 1e-3 of their largest magnitude. When not, or
	 * when either side fails on it, this network is closed.
	 */
	boolean computesLike(Function<NDArray, NDArray> reference, NDManager manager) {
		boolean same;
		try (NDManager probe = manager.newSubManager()) {
			Random random = new Random(42);
			float[] pixels = new float[2 * 3 * 64 * 64];
			for (int i = 0; i < pixels.length; i++) {
				pixels[i] = (float) random.nextGaussian();
			}
			NDArray x = probe.create(pixels, new Shape(2, 3, 64, 64));
			float[] expected = reference.apply(x).toFloatArray();
			float[] actual = features(x).toFloatArray();
			float scale = 1;
			float diff = 0;
			for (int i = 0; i < Math.min(expected.length, actual.length); i++) {
				scale = Math.max(scale, Math.abs(expected[i]));
				diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
			}
			same = expected.length == actual.length && diff <= 1e-3f * scale;
		}
		catch (RuntimeException ex) {
			same = false;
		}
		if (!same) {
			close();
		}
		return same;
	}

	/** Frees the module and the packed weights now, not with their manager. */
	void close() {
		close(this.packed);
		close(this.packedBf16);
		this.module.close();
	}

	/**
	 * The N×2048 pooled features of an NCHW float batch, in {@code x}'s manager; float in
	 * and out also when the network runs in bfloat16.
	 */
	NDArray features(NDArray x) {
		PtNDArray input = (PtNDArray) x;
		boolean inBf16 = this.bf16;
		try (IValue in = IValue.from(input);
				IValue weights = IValue.listFrom(inBf16 ? this.packedBf16 : this.packed);
				IValue plain = IValue.from(this.plainShortcut);
				IValue bf16 = IValue.from(inBf16);
				IValue out = IValueUtils.runMethod(this.module, "features", in, weights, plain, bf16)) {
			return out.toTensor(input.getManager());
		}
	}

}
