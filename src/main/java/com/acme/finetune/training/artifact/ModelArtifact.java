package com.acme.finetune.training.artifact;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Preprocessing;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TorchScriptPolicy;
import com.acme.finetune.training.UnsafeTorchScriptException;
import com.acme.finetune.training.nn.BatchNorm2d;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.CpuLayout;
import com.acme.finetune.training.nn.FoldableConv2d;
import com.acme.finetune.training.nn.OneDnnResNet50;
import com.acme.finetune.training.nn.PointwiseConv2d;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptConvolutions;
import com.acme.finetune.training.nn.TorchScriptState;

/**
 * A trained model on disk and, once loaded, in memory: one long-lived DJL
 * {@link ZooModel}; {@link Predictor}s from {@link #newPredictor()} are cheap and must
 * not be shared across threads.
 *
 * <p>
 * Layout of an artifact directory:
 * <ul>
 * <li>{@code model.params} (network {@code resnet50}: the whole DJL ResNet-50 + head), or
 * {@code backbone.pt} (TorchScript, fine-tuned weights) + {@code head.params} (network
 * {@code torchscript});</li>
 * <li>{@code labels.json}: the labels in output order, a JSON array (read first);
 * {@code synset.txt}: the same, one per line, for DJL's translator factory (intake
 * refuses labels with line breaks, so both always agree);</li>
 * <li>{@code serving.properties}: DJL's model configuration (engine, block factory,
 * {@code ImageClassificationTranslatorFactory} with the evaluation transform as its
 * arguments) plus our keys: {@code network}, {@code numClasses}, {@code featureDim},
 * {@code imageSize}, {@code resizeShorter}, {@code mean}, {@code std};</li>
 * <li>{@code finetune-blocks.jar}: the block factory and block classes (and the small
 * TorchScript module they run served ResNet-50s with on CPUs), which DJL puts on the
 * class path of the model, so plain DJL loads the directory with
 * {@code Criteria.builder().setTypes(Image.class, Classifications.class).optModelPath(dir)}
 * and nothing else.</li>
 * </ul>
 */
public final class ModelArtifact implements AutoCloseable {

	public static final String SYNSET_FILE = "synset.txt";

	/**
	 * The labels as a JSON array: the authority since labels could hold characters that a
	 * line-based file splits on. Artifacts from before it have only {@code synset.txt}.
	 */
	public static final String LABELS_FILE = "labels.json";

	private static final JsonMapper JSON = JsonMapper.builder().build();

	public static final String SERVING_PROPERTIES = "serving.properties";

	public static final String BLOCKS_JAR = "finetune-blocks.jar";

	/** The TorchScript backbone of a {@code torchscript} artifact (absent otherwise). */
	public static final String TORCHSCRIPT_BACKBONE = TorchScriptClassifier.BACKBONE_FILE;

	/** The classes a plain DJL process needs to rebuild the network (no dependencies). */
	private static final List<Class<?>> JAR_CLASSES = List.of(ArtifactBlockFactory.class, Classifier.class,
			ResNet50Block.class, BatchNorm2d.class, CpuLayout.class, FoldableConv2d.class, PointwiseConv2d.class,
			TorchScriptClassifier.class, TorchScriptConvolutions.class, Stage.class, InvalidBackboneException.class,
			OneDnnResNet50.class, TorchScriptState.class, TorchScriptPolicy.class, UnsafeTorchScriptException.class);

	/** Resources those classes read, next to them in the jar. */
	private static final List<String> JAR_RESOURCES = List
		.of(OneDnnResNet50.class.getPackageName().replace('.', '/') + "/" + OneDnnResNet50.MODULE);

	private final Path dir;

	private final ArtifactMetadata metadata;

	private final ZooModel<BufferedImage, Classifications> model;

	private final Object gradCamLock = new Object();

	/** The model's {@link GradCam}, or why it has none; null until first asked. */
	private Object gradCam;

	/** What it serves in: float until {@link #choosePrecision} chose. */
	private volatile ServingPrecision.Decision precision = new ServingPrecision.Decision(ServingPrecision.FP32,
			"not chosen: fp32 until the model's precision is checked");

	private ModelArtifact(Path dir, ArtifactMetadata metadata, ZooModel<BufferedImage, Classifications> model) {
		this.dir = dir;
		this.metadata = metadata;
		this.model = model;
	}

	/** Loads an artifact on the default device (a GPU when DJL sees one). */
	public static ModelArtifact load(Path dir) throws IOException {
		return load(dir, "auto");
	}

	/** Loads an artifact on {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}. */
	public static ModelArtifact load(Path dir, String device) throws IOException {
		ArtifactMetadata metadata = ArtifactMetadata.read(dir);
		Device target = FineTuner.resolveDevice(device);
		Criteria<BufferedImage, Classifications> criteria = Criteria.builder()
			.setTypes(BufferedImage.class, Classifications.class)
			.optModelPath(dir)
			.optEngine("PyTorch")
			.optDevice(target)
			.optOption("hasParameter", "false")
			.optArgument("blockFactory", new ArtifactBlockFactory())
			.optTranslator(new ArtifactTranslator(metadata.preprocessing(), metadata.labels()))
			.build();
		try {
			return new ModelArtifact(dir, metadata, criteria.loadModel());
		}
		catch (ModelNotFoundException | MalformedModelException ex) {
			throw new IOException("Cannot load the model in " + dir.getFileName() + ": " + ex.getMessage(), ex);
		}
	}

	public Path dir() {
		return this.dir;
	}

	public List<String> labels() {
		return this.metadata.labels();
	}

	public Preprocessing preprocessing() {
		return this.metadata.preprocessing();
	}

	/** The loaded model, for callers that manage predictors themselves. */
	public ZooModel<BufferedImage, Classifications> model() {
		return this.model;
	}

	/**
	 * The weights this model holds in memory: its files' size, plus the convolution
	 * weights packed a second time where a ResNet-50 runs on oneDNN's layout.
	 */
	public long weightBytes() {
		long bytes = 0;
		try (Stream<Path> files = Files.walk(this.dir)) {
			bytes = files.filter(Files::isRegularFile).mapToLong((p) -> p.toFile().length()).sum();
		}
		catch (IOException ex) {
			// deleted meanwhile: count what is in memory
		}
		if (this.model.getBlock() instanceof Classifier classifier) {
			bytes += classifier.oneDnnBytes();
		}
		return bytes;
	}

	/** The precision the model serves in now, and why. */
	public ServingPrecision.Decision precision() {
		return this.precision;
	}

	/**
	 * Chooses the precision this model serves in ({@link ServingPrecision}) and switches
	 * to it. Call once, after loading and before serving: it runs the model's probe
	 * images (up to {@value ServingPrecision#PROBE_IMAGES} of its validation images) in
	 * float and in bfloat16 and keeps bfloat16 only when every top-1 label agrees.
	 * @param requested {@code auto}, {@code fp32} or {@code bf16}
	 * @param bf16Check null when bfloat16 was seen to run right in this process (see
	 * {@link ServingPrecision#selfTest()}), else why not
	 */
	public ServingPrecision.Decision choosePrecision(String requested, String bf16Check) {
		this.precision = decidePrecision(ServingPrecision.requested(requested), bf16Check);
		return this.precision;
	}

	private ServingPrecision.Decision decidePrecision(String requested, String bf16Check) {
		if (ServingPrecision.FP32.equals(requested)) {
			return ServingPrecision.Decision.fp32("fp32 was requested");
		}
		if (ServingPrecision.AUTO.equals(requested) && !ServingPrecision.CPU_NATIVE_BF16) {
			return ServingPrecision.Decision.fp32("this CPU has no native bf16 (avx512_bf16 or AMX)");
		}
		if (bf16Check != null) {
			return ServingPrecision.Decision.fp32(bf16Check);
		}
		if (!(this.model.getBlock() instanceof Classifier classifier)
				|| this.model.getNDManager().getDevice().isGpu()) {
			return ServingPrecision.Decision.fp32("bf16 serving runs ResNet-50s on oneDNN, on CPUs only");
		}
		List<BufferedImage> probe = probeImages();
		if (probe.isEmpty()) {
			return ServingPrecision.Decision.fp32("no validation images are stored with the model to check bf16 "
					+ "against fp32 (a model trained before bf16 serving)");
		}
		if (!classifier.addBf16(this.model.getNDManager())) {
			return ServingPrecision.Decision
				.fp32("bf16 serving runs ResNet-50s on oneDNN's blocked layout only; this network does not run on it");
		}
		try {
			List<Map<String, Double>> fp32 = probabilities(probe);
			classifier.useBf16(true);
			List<Map<String, Double>> bf16 = probabilities(probe);
			int changed = 0;
			double rounding = 0;
			for (int i = 0; i < fp32.size(); i++) {
				changed += top(fp32.get(i)).equals(top(bf16.get(i))) ? 0 : 1;
				for (Map.Entry<String, Double> e : fp32.get(i).entrySet()) {
					rounding = Math.max(rounding, Math.abs(e.getValue() - bf16.get(i).getOrDefault(e.getKey(), 0.0)));
				}
			}
			if (changed > 0) {
				classifier.useBf16(false);
				return ServingPrecision.Decision
					.fp32("bf16 changed the top-1 label of " + changed + " of " + probe.size() + " validation images");
			}
			// a model whose probabilities bf16 moves by more than 0.02 on its own probe
			// images moved other images' labels too (a digits model: 0.0465 on the probe,
			// 7 of 1,000 held-out labels changed, 101 probabilities moved over 0.02)
			if (rounding > ServingPrecision.MAX_PROBABILITY_CHANGE) {
				classifier.useBf16(false);
				return ServingPrecision.Decision.fp32(String.format(Locale.ROOT,
						"bf16 changed a probability by %.4f on its validation images (more than %.2f)", rounding,
						ServingPrecision.MAX_PROBABILITY_CHANGE));
			}
			// agreeing on the probe is not enough where labels are near-ties: an image
			// whose runner-up is within twice the largest change bf16 made to any
			// probability could flip (an undertrained model flipped 1-2 % of its other
			// validation images while its probe agreed)
			int close = 0;
			for (Map<String, Double> p : fp32) {
				close += (margin(p) < 2 * rounding) ? 1 : 0;
			}
			if (close > 0) {
				classifier.useBf16(false);
				return ServingPrecision.Decision.fp32(String.format(Locale.ROOT,
						"%d of %d validation images have a runner-up label within twice bf16's largest change of a "
								+ "probability (%.4f): bf16 could change such top-1 labels",
						close, probe.size(), rounding));
			}
			return new ServingPrecision.Decision(ServingPrecision.BF16,
					String.format(Locale.ROOT,
							"the same top-1 label in bf16 as in fp32 on %d validation images, each with its runner-up "
									+ "more than twice bf16's largest change of a probability (%.4f) behind",
							probe.size(), rounding));
		}
		catch (TranslateException | RuntimeException ex) {
			classifier.useBf16(false);
			return ServingPrecision.Decision.fp32("bf16 failed: " + ex.getMessage());
		}
		finally {
			classifier.dropUnusedPrecision();
		}
	}

	/** Every label's probability, per image. */
	private List<Map<String, Double>> probabilities(List<BufferedImage> images) throws TranslateException {
		List<Map<String, Double>> result = new ArrayList<>();
		for (int i = 0; i < images.size(); i += 16) {
			for (List<Prediction> all : predictBatch(images.subList(i, Math.min(images.size(), i + 16)),
					labels().size())) {
				Map<String, Double> byLabel = new LinkedHashMap<>();
				all.forEach((p) -> byLabel.put(p.label(), p.probability()));
				result.add(byLabel);
			}
		}
		return result;
	}

	private static String top(Map<String, Double> probabilities) {
		return probabilities.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
	}

	/** The top probability minus the runner-up's (1 with a single label). */
	private static double margin(Map<String, Double> probabilities) {
		List<Double> sorted = probabilities.values().stream().sorted(Comparator.reverseOrder()).toList();
		return (sorted.size() < 2) ? 1 : sorted.get(0) - sorted.get(1);
	}

	/** The decodable images in {@value ServingPrecision#PROBE_DIR}, in name order. */
	private List<BufferedImage> probeImages() {
		Path folder = this.dir.resolve(ServingPrecision.PROBE_DIR);
		if (!Files.isDirectory(folder)) {
			return List.of();
		}
		List<BufferedImage> images = new ArrayList<>();
		try (Stream<Path> files = Files.list(folder)) {
			for (Path file : files.filter(Files::isRegularFile)
				.sorted()
				.limit(ServingPrecision.PROBE_IMAGES)
				.toList()) {
				try {
					images.add(Preprocessing.read(file));
				}
				catch (IOException | RuntimeException ex) {
					// skipped: the others still check
				}
			}
		}
		catch (IOException ex) {
			return List.of();
		}
		return images;
	}

	/**
	 * Copies up to {@value ServingPrecision#PROBE_IMAGES} of {@code images} (taken in
	 * turn from each class, files up to 4 MB) into the artifact's
	 * {@value ServingPrecision#PROBE_DIR} folder, for the bf16 check at load time.
	 * @param imagesByClass per class, its validation images
	 */
	public static void writeProbeImages(Path dir, List<List<Path>> imagesByClass) throws IOException {
		Path folder = dir.resolve(ServingPrecision.PROBE_DIR);
		Files.createDirectories(folder);
		int written = 0;
		for (int round = 0; written < ServingPrecision.PROBE_IMAGES; round++) {
			boolean any = false;
			for (List<Path> images : imagesByClass) {
				if (round >= images.size() || written >= ServingPrecision.PROBE_IMAGES) {
					continue;
				}
				any = true;
				Path image = images.get(round);
				if (Files.size(image) > 4L * 1024 * 1024) {
					continue;
				}
				String name = image.getFileName().toString();
				String extension = name.contains(".")
						? name.substring(name.lastIndexOf('.')).replaceAll("[^.A-Za-z0-9]", "") : "";
				Files.copy(image, folder.resolve(String.format("%02d%s", written, extension)));
				written++;
			}
			if (!any) {
				break;
			}
		}
	}

	/**
	 * Grad-CAM for this model, set up on first use and kept with the model (a TorchScript
	 * backbone is loaded once more, with its last stage exposed).
	 * @throws GradCam.NotExplainableException (every time) when the network cannot be
	 * explained
	 */
	public GradCam gradCam() {
		synchronized (this.gradCamLock) {
			if (this.gradCam == null) {
				try {
					this.gradCam = GradCam.of(this);
				}
				catch (GradCam.NotExplainableException ex) {
					this.gradCam = ex;
				}
			}
			if (this.gradCam instanceof GradCam.NotExplainableException ex) {
				throw new GradCam.NotExplainableException(ex.getMessage());
			}
			return (GradCam) this.gradCam;
		}
	}

	/** A predictor for one thread; close it after use. */
	public Predictor<BufferedImage, Classifications> newPredictor() {
		return this.model.newPredictor();
	}

	/** Top-k labels with probabilities for one image (a short-lived predictor). */
	public List<Prediction> predict(BufferedImage image, int topK) throws TranslateException {
		return predictBatch(List.of(image), topK).get(0);
	}

	public List<Prediction> predict(Path imageFile, int topK) throws IOException, TranslateException {
		return predict(Preprocessing.read(imageFile), topK);
	}

	/** One forward pass for several images (what dynamic batching calls). */
	public List<List<Prediction>> predictBatch(List<BufferedImage> images, int topK) throws TranslateException {
		try (Predictor<BufferedImage, Classifications> predictor = newPredictor()) {
			List<List<Prediction>> result = new ArrayList<>();
			for (Classifications c : predictor.batchPredict(images)) {
				result.add(top(c, topK));
			}
			return result;
		}
	}

	static List<Prediction> top(Classifications classifications, int topK) {
		int k = Math.max(1, Math.min(topK, classifications.getClassNames().size()));
		classifications.setTopK(k);
		List<Prediction> result = new ArrayList<>();
		for (Classifications.Classification c : classifications.topK()) {
			result.add(new Prediction(c.getClassName(), c.getProbability()));
		}
		return result;
	}

	@Override
	public void close() {
		this.model.close();
	}

	/** One label and its softmax probability. */
	public record Prediction(String label, double probability) {
	}

	/** Writes the artifact files for a trained network. */
	public static void write(Path dir, Classifier network, List<String> labels, Preprocessing preprocessing)
			throws IOException {
		Files.createDirectories(dir);
		network.save(dir);
		Files.writeString(dir.resolve(LABELS_FILE), JSON.writeValueAsString(labels), StandardCharsets.UTF_8);
		Files.write(dir.resolve(SYNSET_FILE), labels, StandardCharsets.UTF_8);
		Properties p = new Properties();
		// read by DJL's model loader
		p.setProperty("engine", "PyTorch");
		p.setProperty("option.hasParameter", "false");
		p.setProperty("blockFactory", ArtifactBlockFactory.class.getName());
		p.setProperty("translatorFactory", "ai.djl.modality.cv.translator.ImageClassificationTranslatorFactory");
		p.setProperty("width", Integer.toString(preprocessing.imageSize()));
		p.setProperty("height", Integer.toString(preprocessing.imageSize()));
		p.setProperty("resizeShort", Integer.toString(preprocessing.resizeShorter()));
		p.setProperty("centerCrop", "true");
		p.setProperty("normalize", join(preprocessing.mean()) + "," + join(preprocessing.std()));
		p.setProperty("applySoftmax", "true");
		p.setProperty("synsetFileName", SYNSET_FILE);
		// read by ArtifactBlockFactory and ArtifactMetadata
		p.setProperty("network", network.kind());
		p.setProperty("numClasses", Integer.toString(network.numClasses()));
		p.setProperty("featureDim", Integer.toString(network.featureDim()));
		p.setProperty("classifierRemoved",
				Boolean.toString(network instanceof TorchScriptClassifier ts && ts.classifierRemoved()));
		p.setProperty("imageSize", Integer.toString(preprocessing.imageSize()));
		p.setProperty("resizeShorter", Integer.toString(preprocessing.resizeShorter()));
		p.setProperty("mean", join(preprocessing.mean()));
		p.setProperty("std", join(preprocessing.std()));
		try (Writer out = Files.newBufferedWriter(dir.resolve(SERVING_PROPERTIES), StandardCharsets.UTF_8)) {
			p.store(out, "Fine-tuned image classifier; load with DJL Criteria.optModelPath(<this directory>)");
		}
		writeBlocksJar(dir.resolve(BLOCKS_JAR));
	}

	private static void writeBlocksJar(Path jar) throws IOException {
		List<String> entries = new ArrayList<>();
		for (Class<?> type : JAR_CLASSES) {
			addClassFiles(type, entries);
		}
		for (Class<?> type : TorchScriptPolicy.IMPLEMENTATION) {
			addClassFiles(type, entries);
		}
		entries.addAll(JAR_RESOURCES);
		try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
			for (String name : entries) {
				try (InputStream in = ModelArtifact.class.getClassLoader().getResourceAsStream(name)) {
					if (in == null) {
						throw new IOException("Not found on the class path: " + name);
					}
					out.putNextEntry(new JarEntry(name));
					in.transferTo(out);
					out.closeEntry();
				}
			}
		}
	}

	/** A class's file and those of its nested and anonymous classes. */
	private static void addClassFiles(Class<?> type, List<String> entries) {
		String name = type.getName().replace('.', '/');
		entries.add(name + ".class");
		for (Class<?> nested : type.getDeclaredClasses()) {
			addClassFiles(nested, entries);
		}
		ClassLoader loader = ModelArtifact.class.getClassLoader();
		for (int i = 1; loader.getResource(name + "$" + i + ".class") != null; i++) {
			entries.add(name + "$" + i + ".class");
		}
	}

	private static String join(float[] values) {
		StringBuilder sb = new StringBuilder();
		for (float v : values) {
			sb.append((sb.length() > 0) ? "," : "").append(v);
		}
		return sb.toString();
	}

	static float[] floats(String csv) {
		String[] parts = csv.split("\\s*,\\s*");
		float[] values = new float[parts.length];
		for (int i = 0; i < parts.length; i++) {
			values[i] = Float.parseFloat(parts[i]);
		}
		return values;
	}

	/**
	 * {@code labels.json}, or for artifacts written before it, {@code synset.txt} (one
	 * label per non-empty line).
	 */
	public static List<String> readLabels(Path dir) throws IOException {
		Path json = dir.resolve(LABELS_FILE);
		if (Files.isRegularFile(json)) {
			try {
				return List.copyOf(JSON.readValue(json.toFile(), new TypeReference<List<String>>() {
				}));
			}
			catch (JacksonException | NullPointerException ex) {
				throw new IOException("Unreadable " + LABELS_FILE + " in " + dir.getFileName() + ": " + ex.getMessage(),
						ex);
			}
		}
		return Files.readAllLines(dir.resolve(SYNSET_FILE), StandardCharsets.UTF_8)
			.stream()
			.filter((l) -> !l.isEmpty())
			.toList();
	}

}
