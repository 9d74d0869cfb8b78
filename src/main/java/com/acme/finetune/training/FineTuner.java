package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.ParameterCounts.StageCount;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.artifact.ArtifactMetadata;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;

/**
 * The training core: fine-tunes a ResNet-50-style backbone with a new linear head on an
 * image dataset and writes a {@link ModelArtifact}. Plain Java + DJL, no framework; the
 * job system adapts it through {@link TrainingListener}. One instance can serve many runs
 * (it holds no run state); runs on one machine should not overlap (PyTorch uses every
 * core).
 */
public final class FineTuner {

	private static final Logger log = LoggerFactory.getLogger(FineTuner.class);

	static final String ENGINE = "PyTorch";

	/**
	 * torchvision's learnable parameters of ResNet-50 per stage (no BatchNorm
	 * statistics), from {@code sum(p.numel() for p in m.<stage>.parameters())} on
	 * {@code torchvision.models.resnet50()}; the head adds {@code 2049·n}.
	 */
	static final Map<String, Long> RESNET50_STAGES = Map.of("stem", 9_536L, "layer1", 215_808L, "layer2", 1_219_584L,
			"layer3", 7_098_368L, "layer4", 14_964_736L);

	/** Training images a scratch network's BatchNorm statistics are estimated from. */
	static final int CALIBRATION_IMAGES = 64;

	private static final int CALIBRATION_BATCH = 32;

	private final long imageMemoryBudget;

	private final RunObserver observer;

	/** Decoded images may use up to a quarter of the heap. */
	public FineTuner() {
		this(Runtime.getRuntime().maxMemory() / 4);
	}

	/**
	 * @param imageMemoryBudget bytes of heap the decoded training/validation images may
	 * occupy; larger datasets are decoded per batch
	 */
	public FineTuner(long imageMemoryBudget) {
		this(imageMemoryBudget, new RunObserver() {
		});
	}

	FineTuner(long imageMemoryBudget, RunObserver observer) {
		this.imageMemoryBudget = imageMemoryBudget;
		this.observer = observer;
	}

	/** Sees the live network of a run, for tests that check what training did to it. */
	interface RunObserver {

		default void initialized(Classifier network) {
		}

		default void trained(Classifier network) {
		}

	}

	/**
	 * {@code auto} (GPU 0 when DJL sees one), {@code cpu}, {@code gpu}, {@code gpu:N}.
	 */
	public static Device resolveDevice(String spec) {
		String value = (spec == null) ? "auto" : spec.trim().toLowerCase(Locale.ROOT);
		Engine engine = Engine.getEngine(ENGINE);
		if (value.equals("auto")) {
			return (engine.getGpuCount() > 0) ? Device.gpu() : Device.cpu();
		}
		if (value.equals("cpu")) {
			return Device.cpu();
		}
		if (value.equals("gpu") || value.startsWith("gpu:")) {
			int index = value.equals("gpu") ? 0 : Integer.parseInt(value.substring(4));
			if (index >= engine.getGpuCount()) {
				throw new IllegalArgumentException(
						"Device " + value + " requested but DJL sees " + engine.getGpuCount() + " GPU(s) on this node");
			}
			return Device.gpu(index);
		}
		throw new IllegalArgumentException("Unknown device '" + spec + "': use auto, cpu, gpu or gpu:N");
	}

	/**
	 * Learnable parameters as torchvision counts them (BatchNorm statistics excluded)
	 * with an {@code numClasses}-way head, per stage and trainable under
	 * {@code freezeUpTo}. Computed without building the network for the ResNet-50 bases;
	 * TorchScript bases are loaded to read their parameter names.
	 */
	public ParameterCounts countParameters(BaseModel base, Stage freezeUpTo, int numClasses) {
		boolean resnet50 = switch (base.kind()) {
			case SCRATCH, IMAGENET -> true;
			case TORCHSCRIPT -> false;
			case FINETUNED -> ResNet50Block.KIND.equals(readMetadata(base).network());
		};
		if (resnet50) {
			return counts(resnet50TotalsWithHead(numClasses), freezeUpTo);
		}
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE)) {
			Classifier classifier = Backbones.load(base, List.of("a", "b"), 224, manager, false).classifier();
			Map<String, Long> totals = totals(classifier);
			// the head's input is the backbone's feature vector
			totals.put("head", (classifier.featureDim() + 1L) * numClasses);
			return counts(totals, freezeUpTo);
		}
	}

	/**
	 * What each phase of a recipe would train and how its BatchNorms would behave, for a
	 * base model and {@code numClasses}; TorchScript bases are loaded (and probed for
	 * BatchNorm that follows the training flag), ResNet-50s are computed.
	 */
	public RecipePlan plan(BaseModel base, int numClasses, FreezeSchedule schedule, BatchNormMode mode, int imageSize) {
		return plan(base, null, numClasses, schedule, mode, imageSize);
	}

	/**
	 * The recipe as {@link #plan(BaseModel, int, FreezeSchedule, BatchNormMode, int)},
	 * but for an uploaded TorchScript backbone from what its sandboxed inspection found
	 * ({@code inspected}), so the graph is not loaded or run in this process.
	 */
	public RecipePlan plan(BaseModel base, BackboneInfo inspected, int numClasses, FreezeSchedule schedule,
			BatchNormMode mode, int imageSize) {
		String network;
		boolean scripted = false;
		Map<String, Long> totals;
		List<Stage> stages;
		if (base.kind() == BaseModel.Kind.SCRATCH || (base.kind() == BaseModel.Kind.FINETUNED
				&& ResNet50Block.KIND.equals(readMetadata(base).network()))) {
			network = ResNet50Block.KIND;
			totals = resnet50TotalsWithHead(numClasses);
			stages = List.of(Stage.STEM, Stage.LAYER1, Stage.LAYER2, Stage.LAYER3, Stage.LAYER4);
		}
		else if (base.kind() == BaseModel.Kind.IMAGENET) {
			// the zoo's traced_resnet50: an eval-mode trace of torchvision's network
			network = TorchScriptClassifier.KIND;
			totals = resnet50TotalsWithHead(numClasses);
			stages = List.of(Stage.STEM, Stage.LAYER1, Stage.LAYER2, Stage.LAYER3, Stage.LAYER4);
		}
		else if (base.kind() == BaseModel.Kind.TORCHSCRIPT && inspected != null) {
			network = TorchScriptClassifier.KIND;
			totals = new LinkedHashMap<>(inspected.parameterTotals());
			totals.put("head", (inspected.featureDim() + 1L) * numClasses);
			stages = inspected.trainableStages();
			scripted = Boolean.TRUE.equals(inspected.batchStatisticsInTrainMode());
		}
		else {
			network = TorchScriptClassifier.KIND;
			try (NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE)) {
				Classifier classifier = Backbones.load(base, List.of("a", "b"), imageSize, manager, true).classifier();
				totals = totals(classifier);
				totals.put("head", (classifier.featureDim() + 1L) * numClasses);
				stages = Backbones.stages(classifier);
				scripted = ((TorchScriptClassifier) classifier).updatesStatisticsInTrainMode();
			}
		}
		List<RecipePlan.PhasePlan> phases = new ArrayList<>();
		for (int i = 0; i < schedule.phases().size(); i++) {
			FreezeSchedule.Phase phase = schedule.phases().get(i);
			phases.add(new RecipePlan.PhasePlan(i, phase.epoch() + 1, phase.upTo(), counts(totals, phase.upTo()),
					BatchNormPolicy.resolve(network, scripted, mode, phase.upTo(), stages)));
		}
		return new RecipePlan(network, scripted, BatchNormPolicy.explain(network, scripted), phases);
	}

	/**
	 * Loads a base model and checks it (TorchScript: forward pass on a dummy batch); what
	 * {@code POST /backbones} validates and {@code GET /backbones} shows.
	 * @throws InvalidBackboneException if it cannot be used
	 * @throws BackboneUnavailableException if its weights are not obtainable here
	 */
	public BackboneInfo inspect(BaseModel base, int imageSize) {
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE)) {
			Classifier classifier = Backbones.load(base, List.of("a", "b"), imageSize, manager, false).classifier();
			Boolean batchStatistics = (base.kind() == BaseModel.Kind.TORCHSCRIPT)
					? Backbones.updatesStatisticsInTrainMode(base.location(), imageSize, manager) : null;
			return new BackboneInfo(base.id(), classifier.featureDim(), imageSize, Backbones.stages(classifier),
					classifier.kind(), totals(classifier), batchStatistics);
		}
	}

	/**
	 * Whether a run with these counts and hyperparameters trains the head on cached
	 * backbone features, and why.
	 */
	public static CacheDecision embeddingCache(ParameterCounts counts, Hyperparameters hyperparameters) {
		long head = counts.byStage().get("head").trainable();
		if (counts.trainable() != head) {
			return new CacheDecision(false, "part of the backbone is trained (freeze.upTo below its last stage)");
		}
		if (hyperparameters.augmentation() != Augmentation.NONE) {
			return new CacheDecision(false, "augmentation '" + hyperparameters.augmentation().id()
					+ "' changes the backbone's input every epoch");
		}
		return new CacheDecision(true, "the whole backbone is frozen and there is no augmentation: features are "
				+ "computed once per dataset and reused");
	}

	/** Whether the embedding cache applies, with the reason for the API. */
	public record CacheDecision(boolean applies, String reason) {
	}

	/**
	 * Runs one fine-tuning job to completion and writes the model artifact to
	 * {@link TrainingRequest#outputDir()}.
	 * @throws TrainingCancelledException within one step of the listener reporting
	 * cancellation
	 * @throws TrainingDivergedException when a step's loss is NaN or infinite
	 * @throws BackboneUnavailableException if the base weights are not obtainable here
	 * @throws InvalidBackboneException if the base model cannot be used
	 */
	public TrainingResult train(TrainingRequest request, TrainingData data, TrainingListener listener) {
		validate(request, data);
		TrainingListener events = (listener != null) ? listener : TrainingListener.NONE;
		Hyperparameters hp = request.hyperparameters();
		Device device = resolveDevice(request.device());
		// seeds torch's generator: scratch initialisation is reproducible per device
		Engine.getEngine(ENGINE).setRandomSeed((int) hp.seed());
		Preprocessing preprocessing = Preprocessing.imagenet(hp.imageSize());
		String fingerprint = Resume.fingerprint(request, data);
		Resume resume = Resume.find(request.checkpointDir(), fingerprint);
		try (Model model = Model.newInstance("finetune", device, ENGINE)) {
			Backbones.Loaded loaded = (resume != null && resume.state().wholeNetwork())
					? new Backbones.Loaded(resume.loadNetwork(model.getNDManager()), false)
					: Backbones.load(request.base(), data.labels(), hp.imageSize(), model.getNDManager(), true);
			Classifier network = loaded.classifier();
			boolean scripted = (network instanceof TorchScriptClassifier ts) && ts.updatesStatisticsInTrainMode();
			network.configure(request.freezeUpTo(), BatchNormPolicy.trainsStatistics(network.kind(), scripted,
					request.batchNorm(), request.freezeUpTo()));
			model.setBlock(network);
			network.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, hp.imageSize(), hp.imageSize()));
			TrainingPrecision.Decision precision = TrainingPrecision.apply(request.precision(), network, device);
			log.info("Training precision {} (requested {}): {}", precision.precision(), request.precision(),
					precision.reason());
			if (loaded.newHead()) {
				initHead(network.head(), network.featureDim(), hp.seed());
			}
			if (resume != null && !resume.state().wholeNetwork()) {
				resume.loadHead(network.head(), model.getNDManager());
			}
			boolean cached = embeddingCache(countActual(network), hp).applies() && request.cacheDir() != null;
			// frozen stages never learn, so their statistics must describe the data;
			// trainable stages start from the placeholders, as in PyTorch (a resumed
			// network has them in its checkpoint)
			if (request.base().kind() == BaseModel.Kind.SCRATCH && request.freezeUpTo() != Stage.NONE
					&& network instanceof ResNet50Block resnet && (resume == null || !resume.state().wholeNetwork())) {
				EmbeddingCache cache = cached ? EmbeddingCache.of(request.cacheDir(), request.base(), data,
						preprocessing, hp.seed(), device.getDeviceType()) : null;
				calibrateBatchNorm(resnet, request.freezeUpTo(), data, preprocessing, hp, model.getNDManager(), events,
						cache);
			}
			this.observer.initialized(network);
			return TrainingRun.run(new TrainingRun(request, data, events, device, preprocessing, model, network,
					this.imageMemoryBudget, this.observer, fingerprint, (resume != null) ? resume.stored() : null,
					(resume != null) ? resume.state() : null));
		}
	}

	/**
	 * How many epochs the newest checkpoint in {@code checkpointDir} holds (0 when none):
	 * a run given that directory continues after them.
	 */
	public static int checkpointedEpochs(Path checkpointDir) {
		return Checkpoint.completedEpochs(checkpointDir);
	}

	/**
	 * Gives a scratch network's stages up to {@code upTo} BatchNorm statistics of this
	 * dataset before training ({@link ResNet50Block#calibrateBatchNorm}): on up to
	 * {@link #CALIBRATION_IMAGES} training images picked by the seed, with the evaluation
	 * transform, or from the embedding cache that holds features computed with them.
	 * Those stages then compute normalised features instead of the placeholders' output.
	 */
	private void calibrateBatchNorm(ResNet50Block network, Stage upTo, TrainingData data, Preprocessing preprocessing,
			Hyperparameters hp, NDManager manager, TrainingListener events, EmbeddingCache cache) {
		// with the embedding cache, the statistics its features were computed with are
		// kept beside them: a warm run needs neither pass
		List<float[]> cachedStatistics = (cache != null) ? cache.readStatistics() : null;
		if (cachedStatistics != null) {
			try {
				network.runningStatistics(upTo, cachedStatistics);
				return;
			}
			catch (IllegalArgumentException ex) {
				log.warn("Recalibrating BatchNorm: the cached statistics do not fit ({})", ex.getMessage());
			}
		}
		List<TrainingData.Sample> samples = new ArrayList<>(data.train());
		Collections.shuffle(samples, new Random(hp.seed() * 7919 + 1));
		List<TrainingData.Sample> subset = samples.subList(0, Math.min(CALIBRATION_IMAGES, samples.size()));
		if (subset.size() < 2) {
			return;
		}
		long start = System.nanoTime();
		ImageSet images = new ImageSet(subset, preprocessing, Augmentation.NONE, this.imageMemoryBudget / 5);
		Inputs inputs = new Inputs.Images(images, preprocessing.imageSize());
		// batches of CALIBRATION_BATCH whatever the training batch: at 32 px layer4's
		// maps
		// are 1x1, so a channel's statistics come from the images alone, and a small
		// batch's near-zero variance would amplify that channel
		List<int[]> batches = new ArrayList<>();
		int from = 0;
		while (from < subset.size()) {
			int to = Math.min(subset.size(), from + CALIBRATION_BATCH);
			// no batch of one: a 1x1 map of one image has no variance
			if (subset.size() - to == 1) {
				to = subset.size();
			}
			batches.add(IntStream.range(from, to).toArray());
			from = to;
		}
		Random unused = new Random(0);
		Iterator<NDArray> arrays = batches.stream().map((indexes) -> inputs.batch(manager, indexes, unused)).iterator();
		if (!network.calibrateBatchNorm(new ParameterStore(manager, false), arrays, upTo, events::isCancelled)) {
			throw new TrainingCancelledException(0, 0);
		}
		log.info("BatchNorm statistics of the scratch network up to {} calibrated on {} training images in {} ms",
				upTo.id(), subset.size(), (System.nanoTime() - start) / 1_000_000);
		if (cache != null) {
			try {
				cache.writeStatistics(network.runningStatistics(upTo));
			}
			catch (IOException ex) {
				log.warn("Could not store the BatchNorm statistics beside {}: {}", cache.file(), ex.toString());
			}
		}
	}

	private void validate(TrainingRequest request, TrainingData data) {
		Hyperparameters hp = request.hyperparameters();
		if (data.labels().size() < 2) {
			throw new IllegalArgumentException("At least 2 classes are needed, got " + data.labels().size());
		}
		if (data.train().isEmpty()) {
			throw new IllegalArgumentException("The training split is empty");
		}
		if (hp.epochs() < 1 || hp.batchSize() < 1 || hp.imageSize() < 32 || hp.learningRate() <= 0) {
			throw new IllegalArgumentException(
					"epochs, batchSize and learningRate must be positive and imageSize " + "at least 32: " + hp);
		}
		if (hp.labelSmoothing() < 0 || hp.labelSmoothing() >= 1) {
			throw new IllegalArgumentException("labelSmoothing must be in [0, 1): " + hp.labelSmoothing());
		}
		if (request.outputDir() == null) {
			throw new IllegalArgumentException("outputDir is required");
		}
	}

	/**
	 * torchvision's {@code nn.Linear} default: weight and bias uniform in ±1/√fanIn.
	 * Drawn from the run's seed in Java, independent of how many random numbers the
	 * backbone used, so the cached and uncached paths start from the same head.
	 */
	static void initHead(Linear head, int featureDim, long seed) {
		Random random = new Random(seed ^ 0x5DEECE66DL);
		double bound = 1.0 / Math.sqrt(featureDim);
		for (Parameter p : head.getParameters().values()) {
			NDArray array = p.getArray();
			float[] values = new float[(int) array.size()];
			for (int i = 0; i < values.length; i++) {
				values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
			}
			array.set(values);
		}
	}

	static Map<String, Long> resnet50Totals() {
		Map<String, Long> totals = new LinkedHashMap<>();
		for (Stage stage : Stage.values()) {
			if (stage != Stage.NONE) {
				totals.put(stage.id(), RESNET50_STAGES.get(stage.id()));
			}
		}
		return totals;
	}

	static Map<String, Long> resnet50TotalsWithHead(int numClasses) {
		Map<String, Long> totals = resnet50Totals();
		totals.put("head", 2049L * numClasses);
		return totals;
	}

	private static Map<String, Long> totals(Classifier classifier) {
		Map<String, Long> totals = new LinkedHashMap<>();
		classifier.learnableParameters().forEach((stage, params) -> {
			if (!stage.equals("head")) {
				totals.put(stage, params.stream().mapToLong((p) -> p.getArray().size()).sum());
			}
		});
		return totals;
	}

	/** Counts by the rule: stage frozen by {@code upTo}, {@code other} always frozen. */
	static ParameterCounts counts(Map<String, Long> totals, Stage upTo) {
		Map<String, StageCount> byStage = new LinkedHashMap<>();
		long total = 0;
		long trainable = 0;
		for (Map.Entry<String, Long> e : totals.entrySet()) {
			String key = e.getKey();
			long n = e.getValue();
			if (key.equals("other") && n == 0) {
				continue;
			}
			boolean train = key.equals("head") || (!key.equals("other") && !Stage.parse(key).isFrozenBy(upTo));
			byStage.put(key, new StageCount(n, train ? n : 0));
			total += n;
			trainable += train ? n : 0;
		}
		return new ParameterCounts(total, trainable, byStage);
	}

	/** What a configured network will really train (by requiresGradient). */
	static ParameterCounts countActual(Classifier classifier) {
		Map<String, StageCount> byStage = new LinkedHashMap<>();
		long total = 0;
		long trainable = 0;
		for (Map.Entry<String, List<Parameter>> e : classifier.learnableParameters().entrySet()) {
			long n = 0;
			long t = 0;
			for (Parameter p : e.getValue()) {
				long size = p.getArray().size();
				n += size;
				t += p.requiresGradient() ? size : 0;
			}
			if (e.getKey().equals("other") && n == 0) {
				continue;
			}
			byStage.put(e.getKey(), new StageCount(n, t));
			total += n;
			trainable += t;
		}
		return new ParameterCounts(total, trainable, byStage);
	}

	private static ArtifactMetadata readMetadata(BaseModel base) {
		try {
			return ArtifactMetadata.read(base.location());
		}
		catch (IOException ex) {
			throw new InvalidBackboneException("Base model " + base.id() + " is not readable: " + ex.getMessage(), ex);
		}
	}

	static void shuffle(int[] order, Random random) {
		for (int i = order.length - 1; i > 0; i--) {
			int j = random.nextInt(i + 1);
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}

}
