package com.acme.finetune.training.artifact;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import com.acme.finetune.training.nn.ResNet50Block;

/**
 * The precision a model serves in: {@value #FP32}, or {@value #BF16} where the network
 * runs on oneDNN's blocked layout (a ResNet-50 on a CPU) and its convolutions, pooling
 * and residual sums run in bfloat16 (the head, softmax and the features handed to the
 * head stay float: what PyTorch's autocast does for inference).
 *
 * <p>
 * A requested precision is {@value #AUTO} (bfloat16 where the CPU has native bf16
 * instructions, {@code avx512_bf16} or AMX), {@value #FP32} or {@value #BF16} (also
 * without them: oneDNN emulates it, more slowly). Either way a model only serves in
 * bfloat16 once a probe batch of its own validation images ({@value #PROBE_DIR} in the
 * artifact) gets the same top-1 labels as in float
 * ({@link ModelArtifact#choosePrecision}).
 */
public final class ServingPrecision {

	public static final String AUTO = "auto";

	public static final String FP32 = "fp32";

	public static final String BF16 = "bf16";

	/**
	 * Validation images kept with a model for its bf16 check, at most
	 * {@value #PROBE_IMAGES}.
	 */
	public static final String PROBE_DIR = "probe";

	public static final int PROBE_IMAGES = 32;

	/**
	 * The most bf16 may change any probability of a probe image for a model to serve in
	 * bf16.
	 */
	public static final double MAX_PROBABILITY_CHANGE = 0.02;

	private static final Set<String> NATIVE_BF16_FLAGS = Set.of("avx512_bf16", "amx_bf16");

	private static final Path CPU_INFO = Path.of("/proc/cpuinfo");

	/** Whether this CPU has native bfloat16 instructions (read once). */
	public static final boolean CPU_NATIVE_BF16 = nativeBf16(CPU_INFO);

	private ServingPrecision() {
	}

	/** What a model serves in and why. */
	public record Decision(String precision, String reason) {

		static Decision fp32(String reason) {
			return new Decision(FP32, reason);
		}

	}

	/**
	 * The flags line of a {@code /proc/cpuinfo} lists {@code avx512_bf16} or
	 * {@code amx_bf16}.
	 */
	public static boolean nativeBf16(Path cpuInfo) {
		try {
			for (String line : Files.readAllLines(cpuInfo)) {
				if (line.startsWith("flags")) {
					for (String flag : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
						if (NATIVE_BF16_FLAGS.contains(flag.toLowerCase(Locale.ROOT))) {
							return true;
						}
					}
					return false;
				}
			}
		}
		catch (IOException ex) {
			// not Linux: no way to tell, so no
		}
		return false;
	}

	/** {@value #AUTO}, {@value #FP32} or {@value #BF16} (null: {@value #AUTO}). */
	public static String requested(String value) {
		String v = (value == null || value.isBlank()) ? AUTO : value.trim().toLowerCase(Locale.ROOT);
		if (!Set.of(AUTO, FP32, BF16).contains(v)) {
			throw new IllegalArgumentException("precision must be auto, fp32 or bf16, not " + value);
		}
		return v;
	}

	/**
	 * Whether bfloat16 runs right in this process: a random ResNet-50 on oneDNN's blocked
	 * layout, at 1×3×64×64, computes in bfloat16 the features it computes in float,
	 * within 10 % of their largest magnitude (bfloat16 keeps 8 bits of mantissa). Run it
	 * in a child process: a CPU whose oneDNN kernels fault kills the process that asks.
	 * @return null when it does, else why not
	 */
	public static String selfTest() {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(11);
			ResNet50Block block = ResNet50Block.create(2);
			Shape shape = new Shape(1, 3, 64, 64);
			block.initialize(manager, DataType.FLOAT32, shape);
			block.foldBatchNorm();
			if (!block.useOneDnnLayout(manager)) {
				return "oneDNN's blocked layout is not available";
			}
			if (!block.addBf16(manager)) {
				return "no bfloat16 copy could be packed";
			}
			NDArray x = manager.randomNormal(shape);
			ParameterStore store = new ParameterStore(manager, false);
			float[] expected = block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
			block.useBf16(true);
			float[] actual = block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
			float scale = 1e-6f;
			float diff = 0;
			for (int i = 0; i < expected.length; i++) {
				scale = Math.max(scale, Math.abs(expected[i]));
				diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
			}
			if (expected.length != actual.length || !(diff <= 0.1f * scale)) {
				return "bfloat16 features differ from float ones by " + diff + " (largest magnitude " + scale + ")";
			}
			return null;
		}
		catch (RuntimeException | Error ex) {
			return "bfloat16 failed: " + ex;
		}
	}

}
