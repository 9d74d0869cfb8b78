package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.inference.InferenceFixtures;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bf16 serving: the packed bfloat16 network against the float one, and the choice a
 * loaded model makes from its own validation images.
 */
class Bf16ServingTests {

	@TempDir
	Path work;

	@Test
	void readsNativeBf16FromTheCpuFlags() throws IOException {
		Path withBf16 = Files.writeString(this.work.resolve("a"),
				"processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n");
		Path withAmx = Files.writeString(this.work.resolve("b"), "flags\t: fpu amx_tile amx_bf16\n");
		Path without = Files.writeString(this.work.resolve("c"), "flags\t: fpu sse2 avx2 avx512f avx512_vnni\n");
		assertThat(ServingPrecision.nativeBf16(withBf16)).isTrue();
		assertThat(ServingPrecision.nativeBf16(withAmx)).isTrue();
		assertThat(ServingPrecision.nativeBf16(without)).isFalse();
		assertThat(ServingPrecision.nativeBf16(this.work.resolve("missing"))).isFalse();
	}

	@Test
	void bfloat16FeaturesFollowTheFloatOnesAndTheUnusedCopyIsFreed() {
		assumeTrue(ServingPrecision.CPU_NATIVE_BF16, "this CPU has no native bf16");
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(5);
			ResNet50Block block = ResNet50Block.create(4);
			Shape shape = new Shape(3, 3, 64, 64);
			block.initialize(manager, DataType.FLOAT32, shape);
			TrainingFixtures.randomiseBatchNorm(block, manager);
			block.foldBatchNorm();
			assertThat(block.useOneDnnLayout(manager)).isTrue();
			long floatBytes = block.oneDnnBytes();
			NDArray x = manager.randomNormal(shape);
			ParameterStore store = new ParameterStore(manager, false);
			float[] expected = block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();

			assertThat(block.addBf16(manager)).isTrue();
			assertThat(block.oneDnnBytes()).isEqualTo(floatBytes + floatBytes / 2);
			assertThat(block.servesBf16()).isFalse();
			block.useBf16(true);
			assertThat(block.servesBf16()).isTrue();
			NDArray features = block.features(store, new NDList(x)).singletonOrThrow();
			assertThat(features.getDataType()).isEqualTo(DataType.FLOAT32);
			float[] actual = features.toFloatArray();
			float scale = 0;
			float diff = 0;
			for (int i = 0; i < expected.length; i++) {
				scale = Math.max(scale, Math.abs(expected[i]));
				diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
			}
			assertThat(actual).hasSameSizeAs(expected);
			// bfloat16 keeps 8 bits of mantissa: close, not equal
			assertThat(diff).isGreaterThan(0f).isLessThan(0.05f * scale);

			block.dropUnusedPrecision();
			assertThat(block.oneDnnBytes()).isEqualTo(floatBytes / 2);
			assertThat(block.features(store, new NDList(x)).singletonOrThrow().toFloatArray()).containsExactly(actual);
		}
	}

	@Test
	void aModelServesInBf16OnlyWhereItsValidationImagesAgree() throws Exception {
		Path model = copy(InferenceFixtures.colourModel(), this.work.resolve("model"));
		// the training run stored its validation images (one per class here)
		assertThat(Files.list(model.resolve(ServingPrecision.PROBE_DIR)).count()).isEqualTo(3);
		List<BufferedImage> images = new ArrayList<>();
		for (int c = 0; c < 3; c++) {
			images.add(InferenceFixtures.colour(c, 40, 40, new Random(c)));
		}

		try (ModelArtifact artifact = ModelArtifact.load(model, "cpu")) {
			assertThat(artifact.precision().precision()).isEqualTo(ServingPrecision.FP32);
			List<List<ModelArtifact.Prediction>> fp32 = artifact.predictBatch(images, 3);
			assertThat(artifact.choosePrecision("fp32", null).precision()).isEqualTo(ServingPrecision.FP32);
			assertThat(artifact.choosePrecision("bf16", "oneDNN faulted").reason()).isEqualTo("oneDNN faulted");
			if (!ServingPrecision.CPU_NATIVE_BF16) {
				assertThat(artifact.choosePrecision("auto", null).reason()).contains("no native bf16");
				return;
			}
			ServingPrecision.Decision decision = artifact.choosePrecision("auto", null);
			assertThat(decision.precision()).as(decision.reason()).isEqualTo(ServingPrecision.BF16);
			assertThat(decision.reason()).contains("3 validation images");
			List<List<ModelArtifact.Prediction>> bf16 = artifact.predictBatch(images, 3);
			for (int i = 0; i < images.size(); i++) {
				assertThat(bf16.get(i).get(0).label()).isEqualTo(fp32.get(i).get(0).label());
				assertThat(bf16.get(i).get(0).probability()).isCloseTo(fp32.get(i).get(0).probability(), within(0.05));
			}
		}

		// without stored validation images (a model from before): fp32, and says why
		Path old = copy(model, this.work.resolve("old"));
		com.acme.finetune.storage.ArtifactStore.deleteRecursively(old.resolve(ServingPrecision.PROBE_DIR));
		try (ModelArtifact artifact = ModelArtifact.load(old, "cpu")) {
			ServingPrecision.Decision decision = artifact.choosePrecision("bf16", null);
			assertThat(decision.precision()).isEqualTo(ServingPrecision.FP32);
			assertThat(decision.reason()).contains("no validation images");
		}
	}

	@Test
	void probeImagesAreTakenInTurnFromEachClass() throws IOException {
		List<List<Path>> byClass = new ArrayList<>();
		for (int c = 0; c < 3; c++) {
			List<Path> files = new ArrayList<>();
			for (int i = 0; i < 20; i++) {
				files.add(
						Files.writeString(this.work.resolve("c" + c + "-" + i + ".png"), "class " + c + " image " + i));
			}
			byClass.add(files);
		}
		Path dir = Files.createDirectories(this.work.resolve("artifact"));
		ModelArtifact.writeProbeImages(dir, byClass);
		List<Path> written = Files.list(dir.resolve(ServingPrecision.PROBE_DIR)).sorted().toList();
		assertThat(written).hasSize(ServingPrecision.PROBE_IMAGES);
		assertThat(Files.readString(written.get(0))).isEqualTo("class 0 image 0");
		assertThat(Files.readString(written.get(1))).isEqualTo("class 1 image 0");
		assertThat(Files.readString(written.get(3))).isEqualTo("class 0 image 1");
		assertThat(written.get(0).getFileName().toString()).isEqualTo("00.png");
	}

	private static Path copy(Path from, Path to) throws IOException {
		try (var files = Files.walk(from)) {
			for (Path f : files.toList()) {
				Path target = to.resolve(from.relativize(f).toString());
				if (Files.isDirectory(f)) {
					Files.createDirectories(target);
				}
				else {
					Files.copy(f, target);
				}
			}
		}
		return to;
	}

}
