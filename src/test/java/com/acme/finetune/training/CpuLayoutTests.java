package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CpuLayoutTests {

	@TempDir
	Path dir;

	@Test
	void autoUsesChannelsLastOnlyWhereTheCpuReportsItsCaches() throws IOException {
		Path cache = this.dir.resolve("cache");
		assertThat(CpuLayout.decide(null, cache)).as("no cache directory (the crashing VM)").isFalse();
		cacheEntry(cache, 0, "1", "Data", "32K");
		cacheEntry(cache, 1, "1", "Instruction", "32K");
		assertThat(CpuLayout.decide("auto", cache)).as("no L2").isFalse();
		cacheEntry(cache, 2, "2", "Unified", "0K");
		assertThat(CpuLayout.decide("", cache)).as("an L2 without a size").isFalse();
		cacheEntry(cache, 2, "2", "Unified", "1024K");
		cacheEntry(cache, 3, "3", "Unified", "32768K");
		assertThat(CpuLayout.decide(null, cache)).isTrue();
		assertThat(CpuLayout.decide(" AUTO ", cache)).isTrue();
		assertThat(CpuLayout.decide("nonsense", cache)).as("unknown values mean auto").isTrue();
	}

	@Test
	void theEnvironmentOverridesTheChoice() {
		Path missing = this.dir.resolve("missing");
		assertThat(CpuLayout.decide("true", missing)).isTrue();
		assertThat(CpuLayout.decide("false", this.dir)).isFalse();
	}

	/**
	 * Where this machine allows channels-last, the network computes the same logits and
	 * gradients in both layouts, at the sizes where oneDNN's channels-last kernels once
	 * went wrong (a 32-px image alone, 4x4 maps in layer2). Forcing channels-last where
	 * {@link CpuLayout} refuses it could kill the JVM, so that case is skipped.
	 */
	@ParameterizedTest
	@CsvSource({ "1, 32", "3, 32", "2, 64" })
	void channelsLastComputesWhatNchwComputes(int batch, int size) {
		assumeTrue(CpuLayout.CHANNELS_LAST, "channels-last is off on this CPU");
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(3);
			ResNet50Block block = ResNet50Block.create(4);
			block.initialize(manager, DataType.FLOAT32, new Shape(batch, 3, size, size));
			block.configure(Stage.LAYER1, false);
			NDArray x = manager.randomNormal(new Shape(batch, 3, size, size));

			block.useChannelsLast(false);
			float[][] nchw = step(manager, block, x);
			block.useChannelsLast(true);
			float[][] channelsLast = step(manager, block, x);
			for (int i = 0; i < nchw.length; i++) {
				float scale = 0;
				float diff = 0;
				for (int j = 0; j < nchw[i].length; j++) {
					scale = Math.max(scale, Math.abs(nchw[i][j]));
					diff = Math.max(diff, Math.abs(nchw[i][j] - channelsLast[i][j]));
				}
				assertThat(diff).as("output %d", i).isLessThanOrEqualTo(1e-4f * Math.max(1f, scale));
			}
		}
	}

	/**
	 * Inference logits, training logits and the gradient of layer2's first convolution.
	 */
	private static float[][] step(NDManager manager, ResNet50Block block, NDArray x) {
		ParameterStore store = new ParameterStore(manager, false);
		float[] inference = block.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
		NDArray weight = block.learnableParameters().get("layer2").get(0).getArray();
		float[] training;
		// gradients accumulate across backward passes: start from zero
		weight.getGradient().muli(0);
		try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
			NDArray logits = block.forward(store, new NDList(x), true).singletonOrThrow();
			training = logits.toFloatArray();
			collector.backward(logits.mul(logits).sum());
		}
		return new float[][] { inference, training, weight.getGradient().toFloatArray() };
	}

	private static void cacheEntry(Path cache, int index, String level, String type, String size) throws IOException {
		Path entry = Files.createDirectories(cache.resolve("index" + index));
		Files.writeString(entry.resolve("level"), level + "\n");
		Files.writeString(entry.resolve("type"), type + "\n");
		Files.writeString(entry.resolve("size"), size + "\n");
	}

}
