package com.acme.finetune.training;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.bench.TrainingBenchmark;
import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.ResNet50Block;

/**
 * Measures the served ResNet-50's forward pass in process (no HTTP, no decoding): a
 * folded {@link ResNet50Block}, as {@link ArtifactBlockFactory} builds it, on a random
 * batch. Not a test; run it from a shell (docs/benchmarks.md, "Inference"): <pre>
 * ./mvnw -q -Pbench test-compile exec:java -Dbench.main=com.acme.finetune.training.ForwardPassBenchmark \
 *   -Dbench.scope=test -Dexec.args="--batches 16,1 --layouts onednn,djl"
 * </pre> Layouts: {@code onednn} (the blocked layout, residual sums as this CPU gets
 * them), {@code onednn-plain-sum} (shortcuts stored plainly first, as on CPUs that report
 * no caches), either with {@code -bf16} (the same in bfloat16, as models serve where the
 * CPU has native bf16), {@code djl} (DJL's convolutions, NCHW or channels-last as
 * {@link CpuLayout} decides). Options: {@code --res 224}, {@code --batches 16,1},
 * {@code --images 128} (per measurement; at least 3 passes), {@code --warmup 2}. One JSON
 * line per layout and batch size: best and median images/s over the passes, and the
 * arithmetic rate the best pass reached (ResNet-50: 4.09 G multiply-adds an image at 224
 * px, two FLOPs each).
 */
public final class ForwardPassBenchmark {

	/** Multiply-adds of ResNet-50's convolutions for one 224×224 image. */
	static final double MACS_AT_224 = 4.089e9;

	private ForwardPassBenchmark() {
	}

	public static void main(String[] args) {
		Map<String, String> options = TrainingBenchmark.options(args);
		int res = Integer.parseInt(options.getOrDefault("res", "224"));
		int images = Integer.parseInt(options.getOrDefault("images", "128"));
		int warmup = Integer.parseInt(options.getOrDefault("warmup", "2"));
		int[] batches = Arrays.stream(options.getOrDefault("batches", "16,1").split(","))
			.mapToInt(Integer::parseInt)
			.toArray();
		for (String layout : options.getOrDefault("layouts", "onednn,djl").split(",")) {
			try (NDManager manager = NDManager.newBaseManager()) {
				ResNet50Block block = ResNet50Block.create(10);
				block.initialize(manager, DataType.FLOAT32, new Shape(1, 3, res, res));
				block.foldBatchNorm();
				boolean blocked = switch (layout) {
					case "onednn", "onednn-bf16" -> block.useOneDnnLayout(manager);
					case "onednn-plain-sum", "onednn-plain-sum-bf16" -> block.useOneDnnLayout(manager, true);
					case "djl" -> false;
					default -> throw new IllegalArgumentException("unknown layout " + layout);
				};
				if (blocked && layout.endsWith("-bf16")) {
					block.addBf16(manager);
					block.useBf16(true);
					block.dropUnusedPrecision();
				}
				if (!layout.equals("djl") && !blocked) {
					throw new IllegalStateException("the blocked layout is not available here (see the log)");
				}
				ParameterStore store = new ParameterStore(manager, false);
				for (int batch : batches) {
					NDArray input = manager.randomUniform(0, 1, new Shape(batch, 3, res, res));
					for (int i = 0; i < warmup; i++) {
						pass(block, store, input);
					}
					int passes = Math.max(3, images / batch);
					List<Double> seconds = new ArrayList<>();
					for (int i = 0; i < passes; i++) {
						seconds.add(pass(block, store, input));
					}
					seconds.sort(null);
					double best = batch / seconds.get(0);
					double median = batch / seconds.get(passes / 2);
					double gflops = best * 2 * MACS_AT_224 * res * res / (224.0 * 224.0) / 1e9;
					System.out.printf(Locale.ROOT, "{\"layout\": \"%s\", \"res\": %d, \"batch\": %d, \"passes\": %d, "
							+ "\"best_img_per_s\": %.2f, \"median_img_per_s\": %.2f, \"best_gflop_per_s\": %.1f}%n",
							layout, res, batch, passes, best, median, gflops);
					input.close();
				}
			}
		}
	}

	/**
	 * One forward pass in its own memory scope; seconds until the features are on the
	 * heap.
	 */
	private static double pass(ResNet50Block block, ParameterStore store, NDArray input) {
		long start = System.nanoTime();
		try (NDManager scope = input.getManager().newSubManager()) {
			NDArray x = input.duplicate();
			x.attach(scope);
			block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
		}
		return (System.nanoTime() - start) / 1e9;
	}

}
