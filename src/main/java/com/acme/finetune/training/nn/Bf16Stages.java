package com.acme.finetune.training.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;

/**
 * The stages of a {@link ResNet50Block} run in bf16 mixed precision, for training on CPUs
 * with native bf16 (AVX512-BF16, AMX): each stage is one call of the TorchScript module
 * {@value #MODULE} ({@code src/main/python/make_bf16_resnet50_stages.py}) with the
 * stage's own fp32 parameters. Convolutions run in bf16 on bf16 copies of the weights,
 * activations stay bf16 inside the stage, BatchNorm keeps fp32 affine parameters and
 * statistics (and updates the block's running statistics in place), and autograd carries
 * the gradients back to the fp32 weights, so the optimizer, checkpoints and the saved
 * model are the same as in fp32. That is what {@code torch.autocast} does on CPUs; DJL
 * only ever sees float tensors (DJL 0.36 has no bf16 data type and aborts the process on
 * one).
 *
 * <p>
 * Activations are channels-last inside the stages. Where {@link CpuLayout} trusts
 * oneDNN's channels-last kernels every convolution is one of them; elsewhere (CPUs that
 * report no cache sizes, whose channels-last 1x1 kernels divide by zero) the 1x1
 * convolutions run as matrix products over the pixels and the strided ones on every
 * second pixel: the same numbers, and the 3x3 and 7x7 kernels, which are sound there,
 * stay. On a 2-core AMD EPYC VM without cache topology that trained a full ResNet-50 at
 * 13.6 img/s against 9.8-11.1 in NCHW (docs/benchmarks.md).
 */
final class Bf16Stages {

	/** The module's {@code layout} flag: channels-last, oneDNN's 1x1 kernels. */
	static final int CHANNELS_LAST = 1;

	/**
	 * The module's {@code layout} flag: channels-last, 1x1 convolutions as matrix
	 * products.
	 */
	static final int CHANNELS_LAST_MATMUL_1X1 = 2;

	static final String MODULE = "resnet50-bf16-stages.pt";

	/** Bottlenecks per stage after the stem, as in torchvision's ResNet-50. */
	private static final int[] BOTTLENECKS = { 3, 4, 6, 3 };

	/** The module has no state: one per process, loaded on first use. */
	private static PtSymbolBlock module;

	/**
	 * Per stage: its convolution weights and BatchNorm parameters in the module's order.
	 */
	private final List<List<Parameter>> parameters = new ArrayList<>();

	/** Per stage: its first BatchNorm, whose momentum the stage uses. */
	private final List<BatchNorm2d> firstNorms = new ArrayList<>();

	/**
	 * @throws IllegalArgumentException when the stages are not ResNet-50's (the module
	 * computes exactly that network)
	 */
	Bf16Stages(List<Block> stages) {
		if (stages.size() != BOTTLENECKS.length + 1) {
			throw new IllegalArgumentException("expected 5 ResNet-50 stages, got " + stages.size());
		}
		for (int i = 0; i < stages.size(); i++) {
			List<Parameter> list = new ArrayList<>();
			List<BatchNorm2d> norms = new ArrayList<>();
			collect(stages.get(i), list, norms);
			int expected = (i == 0) ? 5 : BOTTLENECKS[i - 1] * 15 + 5;
			if (list.size() != expected || norms.isEmpty()) {
				throw new IllegalArgumentException(
						"stage " + i + " has " + list.size() + " tensors, a ResNet-50 stage " + expected);
			}
			this.parameters.add(list);
			this.firstNorms.add(norms.get(0));
		}
	}

	/**
	 * Convolution weights and BatchNorm parameters in forward order (main path first).
	 */
	private static void collect(Block block, List<Parameter> parameters, List<BatchNorm2d> norms) {
		if (block instanceof FoldableConv2d conv) {
			parameters.add(conv.getParameters().get("weight"));
		}
		else if (block instanceof BatchNorm2d norm) {
			parameters.addAll(norm.parametersInOrder());
			norms.add(norm);
		}
		else {
			for (Block child : block.getChildren().values()) {
				collect(child, parameters, norms);
			}
		}
	}

	/**
	 * Stage {@code index} (0 the stem) applied to {@code x}, as float, on {@code x}'s
	 * manager.
	 * @param training whether the parameters are read for training (gradients kept)
	 * @param batchStatistics whether its BatchNorms use and update batch statistics
	 * @param oneDnnChannelsLast whether oneDNN's channels-last 1x1 kernels may run
	 * ({@link CpuLayout#CHANNELS_LAST}), else matrix products do their work
	 */
	NDArray forward(int index, NDArray x, ParameterStore parameterStore, boolean training, boolean batchStatistics,
			boolean oneDnnChannelsLast) {
		List<Parameter> stage = this.parameters.get(index);
		// DJL runs a module with autograd on only through its tensor-only forward, which
		// groups arrays named "p[]" into one list: named views (same storage, gradients
		// flow through), closed after the call; the graph keeps what backward needs
		NDList inputs = new NDList(stage.size() + 2);
		NDList views = new NDList(stage.size() + 2);
		try {
			NDArray input = x.reshape(x.getShape());
			input.setName("x");
			views.add(input);
			inputs.add(input);
			for (Parameter parameter : stage) {
				NDArray value = parameterStore.getValue(parameter, x.getDevice(), training);
				NDArray view = value.reshape(value.getShape());
				view.setName("p[]");
				views.add(view);
				inputs.add(view);
			}
			NDArray flags = x.getManager()
				.create(new float[] { index, batchStatistics ? 1 : 0, (float) this.firstNorms.get(index).momentum(),
						oneDnnChannelsLast ? CHANNELS_LAST : CHANNELS_LAST_MATMUL_1X1 });
			flags.setName("flags");
			views.add(flags);
			inputs.add(flags);
			return IValueUtils.forward(module(), inputs, true).singletonOrThrow();
		}
		finally {
			views.close();
		}
	}

	private static synchronized PtSymbolBlock module() {
		if (module == null) {
			try (InputStream in = Bf16Stages.class.getResourceAsStream(MODULE)) {
				if (in == null) {
					throw new IOException("TorchScript module not found on the class path: " + MODULE);
				}
				// a manager of its own, never closed: the module lives as long as the
				// process
				module = JniUtils.loadModule((PtNDManager) NDManager.newBaseManager("PyTorch"), in, true, false);
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
		}
		return module;
	}

}
