package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import javax.imageio.ImageIO;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.PortableExport;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The portable export: torchvision's state_dict names and shapes, every tensor equal to
 * the trained network's, the same function as the served (BatchNorm-folded) network, and,
 * where Python with torch and torchvision is installed, the README's own code run against
 * the service's logits.
 */
class PortableExportTests {

	private static final List<String> LABELS = List.of("cat", "dog", "bird");

	private static final int SIZE = 64;

	@TempDir
	static Path shared;

	/** A ResNet-50 of DJL blocks with non-trivial BatchNorms and head, as an artifact. */
	static Path resnet;

	@BeforeAll
	static void resnetArtifact() throws IOException {
		resnet = shared.resolve("resnet-artifact");
		Engine.getEngine("PyTorch").setRandomSeed(7);
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			ResNet50Block block = ResNet50Block.create(LABELS.size());
			block.initialize(manager, DataType.FLOAT32, new Shape(2, 3, SIZE, SIZE));
			// statistics from data, as a trained network has, then affine parameters and
			// head moved off their initial values
			// enough images that the 2x2 maps of layer4 give every BatchNorm a variance
			// from 32 values (a handful gives near-zero variances that amplify float
			// rounding in the layers after them far beyond a trained network's)
			NDArray images = manager.create(preprocessed(Preprocessing.imagenet(SIZE), images(18, 3)),
					new Shape(18, 3, SIZE, SIZE));
			Iterator<NDArray> batches = List.of(images.get("0:9").duplicate(), images.get("9:18").duplicate())
				.iterator();
			ParameterStore store = new ParameterStore(manager, false);
			assertThat(block.calibrateBatchNorm(store, batches, Stage.LAYER4, () -> false)).isTrue();
			for (Pair<String, Parameter> p : block.getParameters()) {
				NDArray a = p.getValue().getArray();
				switch (p.getValue().getType()) {
					case GAMMA -> a.set(a.mul(manager.randomUniform(0.8f, 1.2f, a.getShape())).toFloatArray());
					case BETA -> a.set(manager.randomUniform(-0.2f, 0.2f, a.getShape()).toFloatArray());
					default -> {
					}
				}
			}
			trainedLikeHead(block.head(), block.features(store, new NDList(images)).singletonOrThrow(), manager);
			ModelArtifact.write(resnet, block, LABELS, Preprocessing.imagenet(SIZE));
		}
	}

	@Test
	void resNet50ExportIsTorchvisionsStateDictWithEveryTensorAsTrained() throws IOException {
		Map<String, byte[]> zip = export(resnet);
		assertThat(zip).containsOnlyKeys("model.safetensors", "config.json", "README.md");
		SafeTensorsReader.Contents contents = SafeTensorsReader.read(zip.get("model.safetensors"));

		Map<String, long[]> expected = TorchvisionResNet50.floatShapes(LABELS.size());
		List<String> floats = new ArrayList<>();
		List<String> counters = new ArrayList<>();
		contents.tensors().forEach((name, t) -> (t.dtype().equals("F32") ? floats : counters).add(name));
		// torchvision's 267 float tensors, in state_dict order, and one counter per
		// BatchNorm: 320 keys, exactly resnet50().state_dict().keys()
		assertThat(floats).containsExactlyElementsOf(expected.keySet());
		assertThat(contents.tensors()).hasSize(320);
		assertThat(counters).hasSize(53).allMatch((n) -> n.endsWith(".num_batches_tracked"));
		counters.forEach((n) -> assertThat(contents.tensors().get(n).longs()).containsExactly(0L));
		expected.forEach((name, shape) -> assertThat(contents.tensors().get(name).shape()).as(name).isEqualTo(shape));
		assertThat(contents.metadata()).containsEntry("format", "pt");

		// every value as the artifact holds it, unfolded: DJL's parameter order walks the
		// same network in the same order as torchvision's state_dict
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			ResNet50Block saved = ResNet50Block.load(manager, resnet, LABELS.size());
			List<Parameter> djl = new ArrayList<>();
			collect(saved, djl);
			assertThat(djl).hasSize(floats.size());
			for (int i = 0; i < djl.size(); i++) {
				// Arrays.equals: AssertJ's element diff is quadratic on ~2M values
				assertThat(Arrays.equals(contents.tensors().get(floats.get(i)).floats(),
						djl.get(i).getArray().toFloatArray()))
					.as("%s equals DJL's %s", floats.get(i), djl.get(i).getName())
					.isTrue();
			}
		}

		JsonNode config = JsonMapper.builder().build().readTree(zip.get("config.json"));
		assertThat(config.get("layout").asString()).isEqualTo("torchvision-resnet50");
		assertThat(config.get("numClasses").asInt()).isEqualTo(3);
		assertThat(config.get("labels").toString()).isEqualTo("[\"cat\",\"dog\",\"bird\"]");
		assertThat(config.get("preprocessing").get("resize").asInt()).isEqualTo(73);
		assertThat(config.get("preprocessing").get("centerCrop").asInt()).isEqualTo(SIZE);
		assertThat(config.get("preprocessing").get("mean").get(0).asDouble()).isEqualTo(0.485, within());
		assertThat(new String(zip.get("README.md"))).contains("torchvision.models.resnet50(num_classes=",
				"model.load_state_dict(load_file(\"model.safetensors\"))");
	}

	@Test
	void exportComputesWhatTheServedNetworkComputes() throws IOException {
		SafeTensorsReader.Contents contents = SafeTensorsReader.read(export(resnet).get("model.safetensors"));
		try (ModelArtifact served = ModelArtifact.load(resnet, "cpu");
				NDManager manager = NDManager.newBaseManager("PyTorch")) {
			float[] pixels = preprocessed(served.preprocessing(), images(3, 7));
			float[] servedLogits = servedLogits(served, pixels, 3);
			Map<String, NDArray> state = new LinkedHashMap<>();
			contents.tensors().forEach((name, t) -> {
				if (t.dtype().equals("F32")) {
					state.put(name, manager.create(t.floats(), new Shape(t.shape())));
				}
			});
			NDArray x = manager.create(pixels, new Shape(3, 3, SIZE, SIZE));
			float[] exported = TorchvisionResNet50.forward(state, x).toFloatArray();
			ResNet50Block unfolded = ResNet50Block.load(manager, resnet, LABELS.size());
			float[] plain = unfolded.forward(new ParameterStore(manager, false), new NDList(x), false)
				.singletonOrThrow()
				.toFloatArray();
			float d1 = 0, d2 = 0;
			for (int i = 0; i < plain.length; i++) {
				d1 = Math.max(d1, Math.abs(plain[i] - exported[i]));
				d2 = Math.max(d2, Math.abs(plain[i] - servedLogits[i]));
			}
			System.out
				.println("DEBUG unfolded-vs-export " + d1 + " unfolded-vs-served " + d2 + " " + Arrays.toString(plain));
			assertParity(exported, servedLogits, 3);
		}
	}

	@Test
	void torchScriptBackboneThatIsNotTorchvisionsIsExportedAsIsWithItsHead() throws IOException {
		Path dir = tinyTorchScriptArtifact();
		Map<String, byte[]> zip = export(dir);
		assertThat(zip).containsOnlyKeys("backbone.pt", "head.safetensors", "config.json", "README.md");
		assertThat(zip.get("backbone.pt")).isEqualTo(Files.readAllBytes(dir.resolve("backbone.pt")));
		SafeTensorsReader.Contents head = SafeTensorsReader.read(zip.get("head.safetensors"));
		assertThat(head.tensors()).containsOnlyKeys("weight", "bias");
		assertThat(head.tensors().get("weight").shape()).containsExactly(3, 64);
		try (ModelArtifact served = ModelArtifact.load(dir, "cpu")) {
			Linear servedHead = ((Classifier) served.model().getBlock()).head();
			assertThat(Arrays.equals(head.tensors().get("weight").floats(),
					servedHead.getParameters().get("weight").getArray().toFloatArray()))
				.isTrue();
			assertThat(Arrays.equals(head.tensors().get("bias").floats(),
					servedHead.getParameters().get("bias").getArray().toFloatArray()))
				.isTrue();
		}
		JsonNode config = JsonMapper.builder().build().readTree(zip.get("config.json"));
		assertThat(config.get("layout").asString()).isEqualTo("torchscript-backbone");
		assertThat(config.get("featureDim").asInt()).isEqualTo(64);
		assertThat(new String(zip.get("README.md"))).contains("not torchvision's", "torch.jit.load(\"backbone.pt\"");
	}

	/**
	 * The README's code, run by Python as written, loads the export into torchvision's
	 * ResNet-50, and on the service's preprocessed images its logits are the service's.
	 */
	@Test
	void readmeCodeLoadsTheExportIntoTorchvisionWithTheServicesLogits() throws IOException {
		String reason = PythonTorch.unavailableReason();
		assumeTrue(reason == null, () -> "Parity with torchvision not checked: " + reason);
		Map<String, Object> result = pythonParity(resnet, "resnet", 1e-4);
		assertThat(result.get("readmeOutput").toString()).contains("cat: ", "dog: ", "bird: ");
	}

	/**
	 * An uploaded TorchScript that is torchvision's ResNet-50 exports in torchvision's
	 * layout, checked by Python; one with the same names and shapes that computes
	 * something else (BatchNorm eps 0.1) stays TorchScript.
	 */
	@Test
	void torchvisionTorchScriptBackboneExportsAsTorchvisionAndOthersDoNot() throws IOException {
		String reason = PythonTorch.unavailableReason();
		assumeTrue(reason == null, () -> "Parity with torchvision not checked: " + reason);
		Path backbone = shared.resolve("torchvision-backbone.pt");
		Path other = shared.resolve("other-backbone.pt");
		PythonTorch.Result made = PythonTorch.script("make_torchvision_backbone.py", 300, backbone.toString(),
				other.toString());
		assertThat(made.exit()).as(made.output()).isZero();
		Path dir = torchScriptArtifact(backbone, 2048, "torchvision");
		assertThat(export(dir)).containsOnlyKeys("model.safetensors", "config.json", "README.md");
		pythonParity(dir, "torchvision-torchscript", 1e-4);

		assertThat(export(torchScriptArtifact(other, 2048, "other"))).containsKey("backbone.pt")
			.doesNotContainKey("model.safetensors");
	}

	/**
	 * The README's code for a TorchScript backbone runs as written too: PyTorch loads the
	 * backbone libtorch 2.7 wrote and the head, with the service's logits.
	 */
	@Test
	void readmeCodeRunsATorchScriptExportWithTheServicesLogits() throws IOException {
		String reason = PythonTorch.unavailableReason();
		assumeTrue(reason == null, () -> "Parity with PyTorch not checked: " + reason);
		// the fixture's BatchNorm statistics are random, not from data: they amplify the
		// rounding of the served, BatchNorm-folded path past 1e-4 (the export is the file
		// itself)
		Map<String, Object> result = pythonParity(tinyTorchScriptArtifact(), "tiny-torchscript", 1e-3);
		assertThat(result.get("readmeOutput").toString()).contains("cat: ", "dog: ", "bird: ");
	}

	/** torchvision's topology 32x narrower: not loadable into resnet50(). */
	private static synchronized Path tinyTorchScriptArtifact() throws IOException {
		Path dir = shared.resolve("ts-artifact-tiny");
		return Files.isDirectory(dir) ? dir
				: torchScriptArtifact(TrainingFixtures.fixture("tiny-resnet50-topology.pt"), 64, "tiny");
	}

	/**
	 * Runs check_export_parity.py on an export; asserts the max logit difference and the
	 * top-1 and returns its report.
	 */
	private static Map<String, Object> pythonParity(Path artifact, String name, double tolerance) throws IOException {
		Path dir = Files.createDirectories(shared.resolve("export-" + name));
		for (Map.Entry<String, byte[]> e : export(artifact).entrySet()) {
			Files.write(dir.resolve(e.getKey()), e.getValue());
		}
		List<BufferedImage> images = images(2, 11);
		// the README classifies "image.jpg" (PIL reads it whatever the extension)
		ImageIO.write(images.get(0), "png", dir.resolve("image.jpg").toFile());
		try (ModelArtifact served = ModelArtifact.load(artifact, "cpu")) {
			int size = served.preprocessing().imageSize();
			float[] pixels = preprocessed(served.preprocessing(), images);
			float[] logits = servedLogits(served, pixels, images.size());
			Path input = shared.resolve(name + "-input.f32");
			ByteBuffer bytes = ByteBuffer.allocate(pixels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
			bytes.asFloatBuffer().put(pixels);
			Files.write(input, bytes.array());
			Map<String, Object> expected = new LinkedHashMap<>();
			expected.put("shape", List.of(images.size(), 3, size, size));
			List<Float> values = new ArrayList<>();
			for (float v : logits) {
				values.add(v);
			}
			expected.put("logits", values);
			Path expectedFile = shared.resolve(name + "-expected.json");
			Files.writeString(expectedFile, JsonMapper.builder().build().writeValueAsString(expected));
			PythonTorch.Result run = PythonTorch.script("check_export_parity.py", 300, dir.toString(), input.toString(),
					expectedFile.toString());
			assertThat(run.exit()).as(run.output()).isZero();
			@SuppressWarnings("unchecked")
			Map<String, Object> result = JsonMapper.builder()
				.build()
				.readValue(PythonTorch.lastLine(run.output()), Map.class);
			float scale = 0;
			for (float v : logits) {
				scale = Math.max(scale, Math.abs(v));
			}
			// relative to the largest logit (at least 1): float rounding grows with it
			assertThat(((Number) result.get("maxAbsDiff")).doubleValue())
				.as("%s (largest logit %s)", run.output(), scale)
				.isLessThanOrEqualTo(tolerance * Math.max(1f, scale));
			assertThat(result.get("top1")).isEqualTo(result.get("expectedTop1"));
			return result;
		}
	}

	/** A TorchScript backbone plus a seeded linear head, written as an artifact. */
	private static Path torchScriptArtifact(Path backboneFile, int featureDim, String name) throws IOException {
		Path dir = shared.resolve("ts-artifact-" + name);
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			Linear head = ResNet50Block.newHead(LABELS.size());
			TorchScriptClassifier classifier = new TorchScriptClassifier(
					ArtifactBlockFactory.loadBackbone(manager, backboneFile, false), head, featureDim, LABELS.size(),
					false);
			classifier.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 64, 64));
			NDArray images = manager.create(preprocessed(Preprocessing.imagenet(64), images(9, 3)),
					new Shape(9, 3, 64, 64));
			trainedLikeHead(head,
					classifier.features(new ParameterStore(manager, false), new NDList(images)).singletonOrThrow(),
					manager);
			ModelArtifact.write(dir, classifier, LABELS, Preprocessing.imagenet(64));
		}
		return dir;
	}

	/**
	 * A head that classifies these features like a trained one: each class's weight is
	 * the direction from the mean feature to the class's mean (images {@code i} are class
	 * {@code i % 3}), scaled so the logits spread with a standard deviation of about 4. A
	 * random head would weigh the features' rounding noise as much as their signal, which
	 * no trained classifier does.
	 */
	private static void trainedLikeHead(Linear head, NDArray features, NDManager manager) {
		int n = (int) features.getShape().get(0);
		int d = (int) features.getShape().get(1);
		int k = LABELS.size();
		float[] f = features.toFloatArray();
		double[] mean = new double[d];
		double[][] centroids = new double[k][d];
		int[] counts = new int[k];
		for (int i = 0; i < n; i++) {
			counts[i % k]++;
			for (int j = 0; j < d; j++) {
				mean[j] += f[i * d + j] / n;
				centroids[i % k][j] += f[i * d + j];
			}
		}
		float[] w = new float[k * d];
		for (int c = 0; c < k; c++) {
			for (int j = 0; j < d; j++) {
				w[c * d + j] = (float) (centroids[c][j] / counts[c] - mean[j]);
			}
		}
		double sum = 0;
		double squares = 0;
		for (int i = 0; i < n; i++) {
			for (int c = 0; c < k; c++) {
				double logit = 0;
				for (int j = 0; j < d; j++) {
					logit += w[c * d + j] * (f[i * d + j] - mean[j]);
				}
				sum += logit;
				squares += logit * logit;
			}
		}
		double std = Math.sqrt(squares / (n * k) - Math.pow(sum / (n * k), 2));
		float[] b = new float[k];
		for (int c = 0; c < k; c++) {
			double dot = 0;
			for (int j = 0; j < d; j++) {
				w[c * d + j] *= (float) (4 / std);
				dot += w[c * d + j] * mean[j];
			}
			b[c] = (float) -dot;
		}
		head.getParameters().get("weight").getArray().set(w);
		head.getParameters().get("bias").getArray().set(b);
	}

	/** Exports by artifact, made once per test class (an export takes seconds). */
	private static final Map<Path, Map<String, byte[]>> exports = new HashMap<>();

	private static Map<String, byte[]> export(Path artifact) throws IOException {
		Map<String, byte[]> cached = exports.get(artifact);
		if (cached == null) {
			cached = exportNow(artifact);
			exports.put(artifact, cached);
		}
		return cached;
	}

	private static Map<String, byte[]> exportNow(Path artifact) throws IOException {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		PortableExport.write(artifact, "test-model", out);
		Map<String, byte[]> entries = new LinkedHashMap<>();
		try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(out.toByteArray()))) {
			for (ZipEntry e; (e = zip.getNextEntry()) != null;) {
				entries.put(e.getName(), zip.readAllBytes());
			}
		}
		return entries;
	}

	/** The served network's logits (BatchNorm folded, oneDNN layout where it applies). */
	private static float[] servedLogits(ModelArtifact served, float[] pixels, int n) {
		int size = served.preprocessing().imageSize();
		try (NDManager scope = served.model().getNDManager().newSubManager()) {
			NDArray x = scope.create(pixels, new Shape(n, 3, size, size));
			return served.model()
				.getBlock()
				.forward(new ParameterStore(scope, false), new NDList(x), false)
				.singletonOrThrow()
				.toFloatArray();
		}
	}

	private static float[] preprocessed(Preprocessing preprocessing, List<BufferedImage> images) {
		int size = preprocessing.imageSize();
		float[] pixels = new float[images.size() * 3 * size * size];
		for (int i = 0; i < images.size(); i++) {
			preprocessing.toTensor(images.get(i), pixels, i * 3 * size * size);
		}
		return pixels;
	}

	private static List<BufferedImage> images(int n, long seed) {
		Random random = new Random(seed);
		List<BufferedImage> images = new ArrayList<>();
		for (int i = 0; i < n; i++) {
			images.add(TrainingFixtures.image(i % 3, 80, 72, random));
		}
		return images;
	}

	/** Max absolute logit difference at most 1e-4, same top-1 for every image. */
	private static void assertParity(float[] actual, float[] expected, int n) {
		assertThat(actual).hasSameSizeAs(expected);
		float diff = 0;
		float scale = 0;
		for (int i = 0; i < expected.length; i++) {
			diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
			scale = Math.max(scale, Math.abs(expected[i]));
		}
		assertThat(scale).as("logits are not trivial").isGreaterThan(0.01f);
		assertThat(diff).as("max |logit difference| (largest logit %s)", scale).isLessThanOrEqualTo(1e-4f);
		int k = expected.length / n;
		for (int i = 0; i < n; i++) {
			assertThat(argmax(actual, i * k, k)).isEqualTo(argmax(expected, i * k, k));
		}
	}

	private static int argmax(float[] values, int from, int length) {
		int best = 0;
		for (int i = 1; i < length; i++) {
			if (values[from + i] > values[from + best]) {
				best = i;
			}
		}
		return best;
	}

	private static void collect(Block block, List<Parameter> parameters) {
		for (Pair<String, Parameter> p : block.getDirectParameters()) {
			parameters.add(p.getValue());
		}
		for (Block child : block.getChildren().values()) {
			collect(child, parameters);
		}
	}

	private static org.assertj.core.data.Offset<Double> within() {
		return org.assertj.core.data.Offset.offset(1e-6);
	}

}
