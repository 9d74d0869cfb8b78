package com.acme.finetune.training;

import java.util.List;
import java.util.Map;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;

/**
 * The precision a run trains in: {@value ServingPrecision#FP32}, or
 * {@value ServingPrecision#BF16} mixed precision (what {@code torch.autocast} means on
 * CPUs: convolutions and activations in bf16; BatchNorm statistics, the head, the loss,
 * the optimizer and the master weights in fp32) for the Java ResNet-50 on a CPU.
 *
 * <p>
 * A request says {@value ServingPrecision#AUTO} (bf16 where the CPU has native bf16
 * instructions, {@code avx512_bf16} or AMX), {@value ServingPrecision#FP32} or
 * {@value ServingPrecision#BF16} (also without them: oneDNN emulates it, more slowly). On
 * CPUs that report no cache sizes the stages keep off oneDNN's kernels that fault there
 * ({@link ResNet50Block}'s bf16 stages run their 1x1 convolutions as matrix products),
 * and the one-time check in a child process ({@link #selfTest()}) guards the rest.
 */
public final class TrainingPrecision {

	private TrainingPrecision() {
	}

	/** What a run trains in and why. */
	public record Decision(String precision, String reason) {

		public boolean bf16() {
			return ServingPrecision.BF16.equals(this.precision);
		}

		static Decision fp32(String reason) {
			return new Decision(ServingPrecision.FP32, reason);
		}

	}

	/**
	 * The decision for a request before the network is built ({@code jobs:validate}).
	 * @param network {@code resnet50} (the Java ResNet-50) or {@code torchscript}
	 * @param gpu whether the run trains on a GPU
	 */
	public static Decision decide(String requested, String network, boolean gpu) {
		String precision = ServingPrecision.requested(requested);
		if (ServingPrecision.FP32.equals(precision)) {
			return Decision.fp32("fp32 was requested (or this service trains and serves in fp32 only)");
		}
		if (gpu) {
			return Decision.fp32("bf16 training is built for CPUs; on GPUs runs train in fp32 (no CUDA AMP yet)");
		}
		if (ServingPrecision.AUTO.equals(precision) && !ServingPrecision.CPU_NATIVE_BF16) {
			return Decision.fp32("this CPU has no native bf16 (avx512_bf16 or AMX), so auto trains in fp32");
		}
		if (!ResNet50Block.KIND.equals(network)) {
			return Decision.fp32("bf16 training is built for the Java ResNet-50 (resnet50-scratch and models "
					+ "fine-tuned from it); TorchScript backbones train in fp32");
		}
		return new Decision(ServingPrecision.BF16,
				"bf16 mixed precision: convolutions and activations in bf16; BatchNorm statistics, head, loss, "
						+ "optimizer and weights in fp32");
	}

	/**
	 * Null when bf16 training runs right in this process, else why not: a random
	 * ResNet-50 (2 classes) takes one training step at 2×3×64×64 in fp32 and in bf16, and
	 * the bf16 logits and gradients (of the stem's and of layer4's first convolution)
	 * must point the way the fp32 ones do (cosine over 0.8; PyTorch's autocast gives 0.94
	 * and 0.97 for torchvision's ResNet-50 at this size). Run it in a child process: a
	 * CPU whose oneDNN kernels fault kills the process that asks.
	 */
	public static String selfTest() {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			Shape shape = new Shape(2, 3, 64, 64);
			NDArray x = manager.randomNormal(shape);
			NDArray weights = manager.randomNormal(new Shape(2, 2));
			float[][] fp32 = step(manager, shape, x, weights, false);
			float[][] bf16 = step(manager, shape, x, weights, true);
			for (int i = 0; i < fp32.length; i++) {
				double cosine = cosine(fp32[i], bf16[i]);
				if (!(cosine > 0.8)) {
					return "bf16 " + ((i == 0) ? "logits" : "gradients") + " point away from fp32 ones (cosine "
							+ cosine + ")";
				}
			}
			return null;
		}
		catch (RuntimeException | Error ex) {
			return "bf16 training failed: " + ex;
		}
	}

	/**
	 * One training step's logits and gradients (stem's and layer4's first convolution) of
	 * a ResNet-50 initialised from seed 11, for a fixed linear loss.
	 */
	static float[][] step(NDManager manager, Shape shape, NDArray x, NDArray lossWeights, boolean bf16) {
		manager.getEngine().setRandomSeed(11);
		ResNet50Block block = ResNet50Block.create((int) lossWeights.getShape().get(1));
		block.initialize(manager, DataType.FLOAT32, shape);
		// BatchNorm on its running statistics: a random network's gradients through batch
		// statistics are mostly rounding noise, in fp32 against bf16 as in PyTorch's
		// autocast (cosines of 0.06-0.3 for both at these sizes), so they show nothing
		block.configure(Stage.NONE, false);
		block.trainInBf16(bf16);
		Map<String, List<Parameter>> learnable = block.learnableParameters();
		List<Parameter> watched = List.of(learnable.get(Stage.STEM.id()).get(0),
				learnable.get(Stage.LAYER4.id()).get(0));
		for (List<Parameter> parameters : learnable.values()) {
			parameters.forEach((p) -> p.getArray().setRequiresGradient(true));
		}
		ParameterStore store = new ParameterStore(manager, false);
		try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
			NDArray logits = block.forward(store, new NDList(x), true).singletonOrThrow();
			collector.backward(logits.mul(lossWeights).sum());
			float[][] result = new float[1 + watched.size()][];
			result[0] = logits.toFloatArray();
			for (int i = 0; i < watched.size(); i++) {
				result[i + 1] = watched.get(i).getArray().getGradient().toFloatArray();
			}
			return result;
		}
	}

	static double cosine(float[] a, float[] b) {
		double dot = 0;
		double na = 0;
		double nb = 0;
		for (int i = 0; i < a.length; i++) {
			dot += (double) a[i] * b[i];
			na += (double) a[i] * a[i];
			nb += (double) b[i] * b[i];
		}
		return dot / Math.sqrt(na * nb);
	}

	/** Decides for a built network and switches it to bf16 when that is the decision. */
	static Decision apply(String requested, Classifier network, Device device) {
		Decision decision = decide(requested, network.kind(), device.isGpu());
		if (decision.bf16() && !network.trainInBf16(true)) {
			return Decision.fp32("this network cannot train in bf16");
		}
		return decision;
	}

}
