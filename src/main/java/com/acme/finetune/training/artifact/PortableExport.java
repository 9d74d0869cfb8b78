package com.acme.finetune.training.artifact;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.JsonUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.Preprocessing;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptState;

/**
 * A model in a form that runs without this service or DJL: a zip of safetensors weights,
 * a {@code config.json} (labels in output order, preprocessing, architecture) and a
 * {@code README.md} with the Python that loads and runs it.
 *
 * <p>
 * Two layouts:
 * <ul>
 * <li>{@link Layout#TORCHVISION_RESNET50}: {@code model.safetensors} is a state_dict of
 * {@code torchvision.models.resnet50(num_classes=K)}, every weight and BatchNorm
 * statistic in fp32 under torchvision's names ({@code num_batches_tracked} as int64
 * zeros, so {@code load_state_dict} loads it strictly). For the ResNet-50 built from DJL
 * blocks the weights are read from the artifact as trained, before the BatchNorm folding
 * that serving applies; for a TorchScript backbone they are its tensors (buffers
 * included), once a probe batch showed that torchvision's ResNet-50 with those tensors
 * computes what the module computes.</li>
 * <li>{@link Layout#TORCHSCRIPT_BACKBONE}: any other TorchScript backbone, exported as is
 * ({@code backbone.pt}) plus the linear head ({@code head.safetensors}: {@code weight},
 * {@code bias}).</li>
 * </ul>
 */
public final class PortableExport {

	private static final Logger log = LoggerFactory.getLogger(PortableExport.class);

	public static final String WEIGHTS_FILE = "model.safetensors";

	public static final String HEAD_FILE = "head.safetensors";

	public static final String BACKBONE_FILE = "backbone.pt";

	public static final String CONFIG_FILE = "config.json";

	public static final String README_FILE = "README.md";

	/** How the weights are laid out; named in {@code config.json}. */
	public enum Layout {

		TORCHVISION_RESNET50("torchvision-resnet50"), TORCHSCRIPT_BACKBONE("torchscript-backbone");

		private final String id;

		Layout(String id) {
			this.id = id;
		}

		public String id() {
			return this.id;
		}

	}

	private PortableExport() {
	}

	/**
	 * Writes the export of the artifact in {@code artifactDir} as a zip to {@code out}
	 * (left open) and returns its layout. Needs the DJL engine; reads the weights from
	 * disk, never from a model loaded for serving (whose BatchNorm may be folded).
	 * @param modelId recorded in {@code config.json}
	 */
	public static Layout write(Path artifactDir, String modelId, OutputStream out) throws IOException {
		ArtifactMetadata metadata = ArtifactMetadata.read(artifactDir);
		ZipOutputStream zip = new ZipOutputStream(out);
		// weights barely compress: the fastest level keeps the export CPU-cheap
		zip.setLevel(Deflater.BEST_SPEED);
		Layout layout;
		boolean gradMode = JniUtils.isGradMode();
		JniUtils.setGradMode(false);
		// on the CPU even where a GPU serves: the export only reads weights and runs one
		// small probe, and must not take GPU memory from served models
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
			if (ResNet50Block.KIND.equals(metadata.network())) {
				ResNet50Block block = ResNet50Block.load(manager, artifactDir, metadata.numClasses());
				zip.putNextEntry(new ZipEntry(WEIGHTS_FILE));
				SafeTensors.write(zip, safetensorsMetadata(), torchvisionTensors(block.torchvisionParameters()));
				zip.closeEntry();
				layout = Layout.TORCHVISION_RESNET50;
			}
			else if (TorchScriptClassifier.KIND.equals(metadata.network())) {
				layout = writeTorchScript(manager, artifactDir, metadata, zip);
			}
			else {
				throw new IOException("Unknown network kind '" + metadata.network() + "'");
			}
		}
		finally {
			JniUtils.setGradMode(gradMode);
		}
		zip.putNextEntry(new ZipEntry(CONFIG_FILE));
		zip.write(config(layout, metadata, modelId).getBytes(StandardCharsets.UTF_8));
		zip.closeEntry();
		zip.putNextEntry(new ZipEntry(README_FILE));
		zip.write(readme(layout, metadata, modelId).getBytes(StandardCharsets.UTF_8));
		zip.closeEntry();
		zip.finish();
		zip.flush();
		return layout;
	}

	private static Layout writeTorchScript(NDManager manager, Path dir, ArtifactMetadata metadata, ZipOutputStream zip)
			throws IOException {
		Path backboneFile = dir.resolve(TorchScriptClassifier.BACKBONE_FILE);
		Linear head = ResNet50Block.newHead(metadata.numClasses());
		try (DataInputStream in = new DataInputStream(
				new BufferedInputStream(Files.newInputStream(dir.resolve(TorchScriptClassifier.HEAD_FILE))))) {
			head.loadParameters(manager, in);
		}
		catch (MalformedModelException ex) {
			throw new IOException("Unreadable head parameters in " + dir.getFileName(), ex);
		}
		Map<String, Parameter> torchvision = torchvisionState(manager, backboneFile, metadata.numClasses());
		if (torchvision != null) {
			torchvision.put("fc.weight", head.getParameters().get("weight"));
			torchvision.put("fc.bias", head.getParameters().get("bias"));
			zip.putNextEntry(new ZipEntry(WEIGHTS_FILE));
			SafeTensors.write(zip, safetensorsMetadata(), torchvisionTensors(torchvision));
			zip.closeEntry();
			return Layout.TORCHVISION_RESNET50;
		}
		zip.putNextEntry(new ZipEntry(BACKBONE_FILE));
		Files.copy(backboneFile, zip);
		zip.closeEntry();
		zip.putNextEntry(new ZipEntry(HEAD_FILE));
		List<SafeTensors.Tensor> tensors = new ArrayList<>();
		tensors.add(tensor("weight", head.getParameters().get("weight")));
		tensors.add(tensor("bias", head.getParameters().get("bias")));
		SafeTensors.write(zip, Map.of("format", "pt"), tensors);
		zip.closeEntry();
		return Layout.TORCHSCRIPT_BACKBONE;
	}

	/**
	 * The backbone's tensors in a ResNet-50 of DJL blocks, under torchvision's names,
	 * when the TorchScript module is torchvision's ResNet-50: every tensor torchvision's
	 * network has (the classifier aside) with its shape, no others but a detached
	 * {@code fc}, and the same 2048-d features on a probe batch; null otherwise.
	 */
	static Map<String, Parameter> torchvisionState(NDManager manager, Path backboneFile, int numClasses) {
		Map<String, TorchScriptState.Tensor> state;
		try {
			state = TorchScriptState.read(backboneFile);
		}
		catch (IOException ex) {
			log.debug("Backbone {} exported as TorchScript: {}", backboneFile, ex.toString());
			return null;
		}
		ResNet50Block block = ResNet50Block.create(numClasses);
		Shape probeShape = new Shape(2, 3, 64, 64);
		block.initialize(manager, DataType.FLOAT32, probeShape);
		Map<String, Parameter> named = block.torchvisionParameters();
		for (String name : state.keySet()) {
			if (!named.containsKey(name)) {
				return null;
			}
		}
		for (Map.Entry<String, Parameter> e : named.entrySet()) {
			if (e.getKey().startsWith("fc.")) {
				continue;
			}
			TorchScriptState.Tensor t = state.get(e.getKey());
			NDArray array = e.getValue().getArray();
			if (t == null || !new Shape(t.shape()).equals(array.getShape())) {
				return null;
			}
			array.set(t.values());
		}
		try (NDManager probe = manager.newSubManager()) {
			PtSymbolBlock module = ArtifactBlockFactory.loadBackbone(probe, backboneFile, false);
			Random random = new Random(42);
			float[] pixels = new float[(int) probeShape.size()];
			for (int i = 0; i < pixels.length; i++) {
				pixels[i] = (float) random.nextGaussian();
			}
			NDArray x = probe.create(pixels, probeShape);
			ParameterStore store = new ParameterStore(probe, false);
			NDArray out = module.forward(store, new NDList(x), false, null).get(0);
			float[] expected = out.reshape(out.getShape().get(0), -1).toFloatArray();
			float[] actual = block.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
			float scale = 1;
			float diff = 0;
			for (int i = 0; i < Math.min(expected.length, actual.length); i++) {
				scale = Math.max(scale, Math.abs(expected[i]));
				diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
			}
			if (expected.length != actual.length || diff > 1e-4f * scale) {
				log.info("Backbone {} exported as TorchScript: torchvision's ResNet-50 names and shapes, other "
						+ "features (max difference {})", backboneFile.getFileName(), diff);
				return null;
			}
		}
		catch (IOException | RuntimeException ex) {
			log.info("Backbone {} exported as TorchScript: the probe failed ({})", backboneFile.getFileName(),
					ex.toString());
			return null;
		}
		return named;
	}

	/** Each named parameter as fp32, plus {@code num_batches_tracked} per BatchNorm. */
	private static List<SafeTensors.Tensor> torchvisionTensors(Map<String, Parameter> named) {
		List<SafeTensors.Tensor> tensors = new ArrayList<>();
		for (Map.Entry<String, Parameter> e : named.entrySet()) {
			tensors.add(tensor(e.getKey(), e.getValue()));
			if (e.getKey().endsWith(".running_var")) {
				// torchvision keeps it (int64, shape []); it only matters to BatchNorm
				// with
				// momentum None, and DJL does not count batches
				String prefix = e.getKey().substring(0, e.getKey().length() - "running_var".length());
				tensors.add(SafeTensors.Tensor.i64(prefix + "num_batches_tracked", new long[0], 0L));
			}
		}
		return tensors;
	}

	private static SafeTensors.Tensor tensor(String name, Parameter parameter) {
		NDArray array = parameter.getArray();
		return SafeTensors.Tensor.f32(name, array.getShape().getShape(),
				() -> array.toType(DataType.FLOAT32, false).toFloatArray());
	}

	private static Map<String, String> safetensorsMetadata() {
		return Map.of("format", "pt");
	}

	private static String config(Layout layout, ArtifactMetadata metadata, String modelId) {
		Preprocessing p = metadata.preprocessing();
		Map<String, Object> preprocessing = new LinkedHashMap<>();
		preprocessing.put("resize", p.resizeShorter());
		preprocessing.put("resizeSide", "shorter");
		preprocessing.put("interpolation", "bilinear");
		preprocessing.put("centerCrop", p.imageSize());
		preprocessing.put("colorSpace", "RGB");
		preprocessing.put("scale", "1/255");
		preprocessing.put("mean", p.mean());
		preprocessing.put("std", p.std());
		preprocessing.put("tensorLayout", "NCHW");
		Map<String, Object> config = new LinkedHashMap<>();
		config.put("format", "safetensors");
		config.put("layout", layout.id());
		config.put("architecture", (layout == Layout.TORCHVISION_RESNET50) ? "torchvision.models.resnet50"
				: "torchscript backbone + linear head");
		config.put("modelId", modelId);
		config.put("numClasses", metadata.numClasses());
		config.put("featureDim", metadata.featureDim());
		config.put("labels", metadata.labels());
		config.put("imageSize", p.imageSize());
		config.put("preprocessing", preprocessing);
		config.put("output", "logits; softmax over them gives the probabilities the service reports");
		config.put("files",
				(layout == Layout.TORCHVISION_RESNET50) ? List.of(WEIGHTS_FILE) : List.of(BACKBONE_FILE, HEAD_FILE));
		return JsonUtils.GSON_PRETTY.toJson(config) + "\n";
	}

	private static String readme(Layout layout, ArtifactMetadata metadata, String modelId) {
		StringBuilder md = new StringBuilder();
		md.append("# Exported model ").append(modelId).append("\n\n");
		md.append("An image classifier with ")
			.append(metadata.numClasses())
			.append(" classes (labels in output order in `config.json`), input ")
			.append(metadata.preprocessing().imageSize())
			.append("x")
			.append(metadata.preprocessing().imageSize())
			.append(" RGB.\n\n");
		if (layout == Layout.TORCHVISION_RESNET50) {
			md.append("""
					`model.safetensors` is a state_dict of torchvision's ResNet-50 with a %d-way `fc`: every
					weight and BatchNorm buffer in fp32 under torchvision's names (`num_batches_tracked` as
					int64 zeros), so it loads strictly into `torchvision.models.resnet50(num_classes=%d)`.

					```python
					import json

					import torch
					import torchvision
					from PIL import Image
					from safetensors.torch import load_file
					from torchvision import transforms

					config = json.load(open("config.json"))
					model = torchvision.models.resnet50(num_classes=config["numClasses"])
					model.load_state_dict(load_file("model.safetensors"))
					model.eval()
					""".formatted(metadata.numClasses(), metadata.numClasses()));
		}
		else {
			md.append("""
					This model's backbone is an uploaded TorchScript module that is not torchvision's
					ResNet-50, so it is exported as is: `backbone.pt` maps a normalised NCHW batch to
					%d-d features, and `head.safetensors` holds the linear classifier on top (`weight`
					%d x %d, `bias` %d, fp32). `backbone.pt` was written by libtorch 2.7; PyTorch 1.13
					and newer load it.

					```python
					import json

					import torch
					from PIL import Image
					from safetensors.torch import load_file
					from torchvision import transforms

					config = json.load(open("config.json"))
					backbone = torch.jit.load("backbone.pt", map_location="cpu").eval()
					head = torch.nn.Linear(config["featureDim"], config["numClasses"])
					head.load_state_dict(load_file("head.safetensors"))
					head.eval()
					model = torch.nn.Sequential(backbone, torch.nn.Flatten(1), head)
					""".formatted(metadata.featureDim(), metadata.numClasses(), metadata.featureDim(),
					metadata.numClasses()));
		}
		md.append("""

				# the service's evaluation transform
				p = config["preprocessing"]
				transform = transforms.Compose([
				    transforms.Resize(p["resize"]),  # shorter side, bilinear
				    transforms.CenterCrop(p["centerCrop"]),
				    transforms.ToTensor(),  # RGB, scaled to [0, 1]
				    transforms.Normalize(p["mean"], p["std"]),
				])
				batch = transform(Image.open("image.jpg").convert("RGB")).unsqueeze(0)
				with torch.no_grad():
				    probabilities = model(batch).softmax(dim=1)[0]
				top = probabilities.topk(min(5, config["numClasses"]))
				for probability, index in zip(top.values.tolist(), top.indices.tolist()):
				    print(f"{config['labels'][index]}: {probability:.4f}")
				```

				Needs `pip install torch torchvision safetensors pillow`. The model outputs logits;
				the softmax over them is what the service reports as probabilities. On the same
				preprocessed tensor the logits match the service's; from an image file they can
				differ slightly, because the service resizes with its own (Java) bilinear scaler
				rather than PIL's.
				""");
		return md.toString();
	}

}
