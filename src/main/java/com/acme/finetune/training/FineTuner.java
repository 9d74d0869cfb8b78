package com.acme.finetune.training;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.ParameterCounts.StageCount;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.TrainingResult.ClassMetrics;

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
	 * Loads a base model and checks it (TorchScript: forward pass on a dummy batch); what
	 * {@code POST /backbones} validates and {@code GET /backbones} shows.
	 * @throws InvalidBackboneException if it cannot be used
	 * @throws BackboneUnavailableException if its weights are not obtainable here
	 */
	public BackboneInfo inspect(BaseModel base, int imageSize) {
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE)) {
			Classifier classifier = Backbones.load(base, List.of("a", "b"), imageSize, manager, false).classifier();
			return new BackboneInfo(base.id(), classifier.featureDim(), imageSize, Backbones.stages(classifier),
					classifier.kind(), totals(classifier));
		}
	}

	/**
	 * Learnable parameters of a job from an earlier {@link #inspect inspection} of its
	 * base, without loading it: what the API counts for uploaded TorchScript backbones,
	 * whose code it only runs in a sandbox.
	 */
	public static ParameterCounts countParameters(BackboneInfo inspected, Stage freezeUpTo, int numClasses) {
		Map<String, Long> totals = new LinkedHashMap<>(inspected.parameterTotals());
		totals.put("head", (inspected.featureDim() + 1L) * numClasses);
		return counts(totals, freezeUpTo);
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
		try (Model model = Model.newInstance("finetune", device, ENGINE)) {
			Backbones.Loaded loaded = Backbones.load(request.base(), data.labels(), hp.imageSize(),
					model.getNDManager(), true);
			Classifier network = loaded.classifier();
			network.configure(request.freezeUpTo(), request.batchNorm() == BatchNormMode.TRAIN);
			model.setBlock(network);
			network.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, hp.imageSize(), hp.imageSize()));
			if (loaded.newHead()) {
				initHead(network.head(), network.featureDim(), hp.seed());
			}
			ParameterCounts counts = countActual(network);
			boolean cached = embeddingCache(counts, hp).applies() && request.cacheDir() != null;
			// frozen stages never learn, so their statistics must describe the data;
			// trainable stages start from the placeholders, as in PyTorch
			if (request.base().kind() == BaseModel.Kind.SCRATCH && request.freezeUpTo() != Stage.NONE
					&& network instanceof ResNet50Block resnet) {
				EmbeddingCache cache = cached ? EmbeddingCache.of(request.cacheDir(), request.base(), data,
						preprocessing, hp.seed(), device.getDeviceType()) : null;
				calibrateBatchNorm(resnet, request.freezeUpTo(), data, preprocessing, hp, model.getNDManager(), events,
						cache);
			}
			this.observer.initialized(network);
			Run run = new Run(request, data, events, device, preprocessing, model, network, counts, cached);
			return run.execute();
		}
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
		ImageInputs inputs = new ImageInputs(images, preprocessing.imageSize());
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

	private static ModelArtifact.Metadata readMetadata(BaseModel base) {
		try {
			return ModelArtifact.Metadata.read(base.location());
		}
		catch (IOException ex) {
			throw new InvalidBackboneException("Base model " + base.id() + " is not readable: " + ex.getMessage(), ex);
		}
	}

	/** The state of one training run. */
	private final class Run {

		private final TrainingRequest request;

		private final TrainingData data;

		private final TrainingListener listener;

		private final Device device;

		private final Preprocessing preprocessing;

		private final Model model;

		private final Classifier network;

		private final ParameterCounts counts;

		private final boolean cached;

		private final Hyperparameters hp;

		private final int numClasses;

		private final float[] learningRate = new float[1];

		Run(TrainingRequest request, TrainingData data, TrainingListener listener, Device device,
				Preprocessing preprocessing, Model model, Classifier network, ParameterCounts counts, boolean cached) {
			this.request = request;
			this.data = data;
			this.listener = listener;
			this.device = device;
			this.preprocessing = preprocessing;
			this.model = model;
			this.network = network;
			this.counts = counts;
			this.cached = cached;
			this.hp = request.hyperparameters();
			this.numClasses = data.labels().size();
		}

		TrainingResult execute() {
			Inputs train;
			Inputs val;
			if (this.cached) {
				EmbeddingCache.Features features = features();
				train = new FeatureInputs(features.train(), features.dim(), labels(this.data.train()));
				val = new FeatureInputs(features.val(), features.dim(), labels(this.data.validation()));
			}
			else {
				long budget = FineTuner.this.imageMemoryBudget;
				train = new ImageInputs(
						new ImageSet(this.data.train(), this.preprocessing, this.hp.augmentation(), budget * 4 / 5),
						this.preprocessing.imageSize());
				val = new ImageInputs(
						new ImageSet(this.data.validation(), this.preprocessing, Augmentation.NONE, budget / 5),
						this.preprocessing.imageSize());
			}
			// the cached path trains the very same head object on features, in its own
			// Model so the Trainer only sees (and updates) the head's parameters
			Block trainBlock = this.cached ? this.network.head() : this.network;
			try (Model headModel = this.cached ? Model.newInstance("head", this.device, ENGINE) : null) {
				Model trainModel = this.model;
				if (headModel != null) {
					headModel.setBlock(trainBlock);
					trainModel = headModel;
				}
				DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
					.optOptimizer(optimizer())
					.optDevices(new Device[] { this.device });
				try (Trainer trainer = trainModel.newTrainer(config)) {
					trainer.initialize(this.cached ? new Shape(1, this.network.featureDim())
							: new Shape(1, 3, this.hp.imageSize(), this.hp.imageSize()));
					return loop(trainer, trainBlock, train, val);
				}
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
		}

		private TrainingResult loop(Trainer trainer, Block trainBlock, Inputs train, Inputs val) throws IOException {
			int batch = this.hp.batchSize();
			int steps = (train.size() + batch - 1) / batch;
			float[] classWeights = classWeights();
			Random shuffle = new Random(this.hp.seed());
			Random augment = new Random(this.hp.seed() * 31 + 17);
			this.listener.onStart(this.hp.epochs(), steps);
			List<EpochMetrics> epochs = new ArrayList<>();
			int bestEpoch = 0;
			double bestScore = Double.NaN;
			byte[] bestWeights = null;
			int[] bestPredictions = null;
			int[] order = new int[train.size()];
			for (int i = 0; i < order.length; i++) {
				order[i] = i;
			}
			EarlyStoppingMetric metric = this.hp.earlyStopping().metric();
			for (int epoch = 1; epoch <= this.hp.epochs(); epoch++) {
				this.learningRate[0] = (float) learningRate(epoch - 1);
				shuffle(order, shuffle);
				long epochStart = System.nanoTime();
				double lossSum = 0;
				long correct = 0;
				for (int step = 1; step <= steps; step++) {
					if (this.listener.isCancelled()) {
						throw new TrainingCancelledException(epoch, step);
					}
					long stepStart = System.nanoTime();
					int from = (step - 1) * batch;
					int size = Math.min(batch, train.size() - from);
					int[] indexes = Arrays.copyOfRange(order, from, from + size);
					float stepLoss;
					long[] predictions;
					// every native array of the step lives in this scope and is freed at
					// its end: unscoped, memory grows by ~175 MiB per step
					try (NDManager scope = trainer.getManager().newSubManager()) {
						NDArray x = train.batch(scope, indexes, augment);
						NDArray target = scope.create(targets(train, indexes, this.hp.labelSmoothing()),
								new Shape(size, this.numClasses));
						NDArray weights = scope.create(sampleWeights(train, indexes, classWeights));
						try (GradientCollector collector = trainer.newGradientCollector()) {
							NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
							NDArray loss = crossEntropy(logits, target, weights);
							collector.backward(loss);
							stepLoss = loss.getFloat();
							predictions = logits.argMax(1).toLongArray();
						}
						if (!Float.isFinite(stepLoss)) {
							throw new TrainingDivergedException(epoch, step, stepLoss, this.learningRate[0]);
						}
						trainer.step();
					}
					lossSum += (double) stepLoss * size;
					for (int i = 0; i < size; i++) {
						correct += (predictions[i] == train.label(indexes[i])) ? 1 : 0;
					}
					double seconds = (System.nanoTime() - stepStart) / 1e9;
					this.listener.onStep(epoch, step, steps, stepLoss, size / seconds);
				}
				double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
				Evaluation evaluation = evaluate(trainer, val);
				long durationMs = (System.nanoTime() - epochStart) / 1_000_000;
				EpochMetrics metrics = new EpochMetrics(epoch, lossSum / train.size(), (double) correct / train.size(),
						evaluation.loss(), evaluation.accuracy(), this.learningRate[0], durationMs,
						train.size() / trainSeconds);
				epochs.add(metrics);
				this.listener.onEpoch(metrics);
				double score = score(metrics, metric, val.size() > 0);
				if (bestEpoch == 0 || score > bestScore) {
					bestEpoch = epoch;
					bestScore = score;
					bestPredictions = evaluation.predictions();
					// only needed if a later epoch could be worse and the run goes on
					bestWeights = (epoch < this.hp.epochs()) ? snapshot(trainBlock) : null;
				}
				int patience = this.hp.earlyStopping().patience();
				if (patience > 0 && epoch - bestEpoch >= patience) {
					log.info("Early stopping after epoch {}: no {} improvement since epoch {}", epoch, metric.id(),
							bestEpoch);
					break;
				}
			}
			if (bestEpoch != epochs.size() && bestWeights != null) {
				restore(trainBlock, bestWeights);
			}
			FineTuner.this.observer.trained(this.network);
			ModelArtifact.write(this.request.outputDir(), this.network, this.data.labels(), this.preprocessing);
			long[][] confusion = confusion(val, bestPredictions);
			return new TrainingResult(List.copyOf(epochs), bestEpoch, List.copyOf(this.data.labels()),
					perClass(confusion), confusion, this.request.outputDir(), this.counts, this.cached);
		}

		/** Higher is better; without a validation split, the training loss decides. */
		private double score(EpochMetrics m, EarlyStoppingMetric metric, boolean hasValidation) {
			if (!hasValidation) {
				return -m.trainLoss();
			}
			return (metric == EarlyStoppingMetric.VAL_ACCURACY) ? m.valAccuracy() : -m.valLoss();
		}

		private Evaluation evaluate(Trainer trainer, Inputs val) {
			if (val.size() == 0) {
				return new Evaluation(Double.NaN, Double.NaN, new int[0]);
			}
			int batch = this.hp.batchSize();
			double lossSum = 0;
			long correct = 0;
			int[] predictions = new int[val.size()];
			for (int from = 0; from < val.size(); from += batch) {
				if (this.listener.isCancelled()) {
					throw new TrainingCancelledException(0, 0);
				}
				int size = Math.min(batch, val.size() - from);
				int[] indexes = new int[size];
				for (int i = 0; i < size; i++) {
					indexes[i] = from + i;
				}
				try (NDManager scope = trainer.getManager().newSubManager()) {
					NDArray x = val.batch(scope, indexes, null);
					NDArray logits = trainer.evaluate(new NDList(x)).singletonOrThrow();
					NDArray target = scope.create(targets(val, indexes, 0), new Shape(size, this.numClasses));
					// plain cross-entropy: comparable across smoothing and class weights
					lossSum += logits.logSoftmax(1).mul(target).sum().neg().getFloat();
					long[] predicted = logits.argMax(1).toLongArray();
					for (int i = 0; i < size; i++) {
						predictions[from + i] = (int) predicted[i];
						correct += (predicted[i] == val.label(from + i)) ? 1 : 0;
					}
				}
			}
			return new Evaluation(lossSum / val.size(), (double) correct / val.size(), predictions);
		}

		private EmbeddingCache.Features features() {
			EmbeddingCache cache = EmbeddingCache.of(this.request.cacheDir(), this.request.base(), this.data,
					this.preprocessing, this.hp.seed(), this.device.getDeviceType());
			int dim = this.network.featureDim();
			EmbeddingCache.Features features = cache.read(this.data.train().size(), this.data.validation().size(), dim);
			if (features != null) {
				log.info("Embedding cache hit: {}", cache.file().getFileName());
				return features;
			}
			long budget = FineTuner.this.imageMemoryBudget;
			float[] train = embed(new ImageSet(this.data.train(), this.preprocessing, Augmentation.NONE, budget), dim);
			float[] val = embed(new ImageSet(this.data.validation(), this.preprocessing, Augmentation.NONE, budget),
					dim);
			features = new EmbeddingCache.Features(train, val, dim);
			try {
				cache.write(features);
			}
			catch (IOException ex) {
				// a run does not fail because its cache could not be stored
				log.warn("Could not store the embedding cache {}: {}", cache.file(), ex.toString());
			}
			return features;
		}

		private float[] embed(ImageSet images, int dim) {
			Inputs inputs = new ImageInputs(images, this.preprocessing.imageSize());
			float[] out = new float[images.size() * dim];
			ParameterStore store = new ParameterStore(this.model.getNDManager(), false);
			int batch = Math.max(this.hp.batchSize(), 16);
			for (int from = 0; from < images.size(); from += batch) {
				if (this.listener.isCancelled()) {
					throw new TrainingCancelledException(0, 0);
				}
				int size = Math.min(batch, images.size() - from);
				int[] indexes = new int[size];
				for (int i = 0; i < size; i++) {
					indexes[i] = from + i;
				}
				try (NDManager scope = this.model.getNDManager().newSubManager()) {
					NDArray x = inputs.batch(scope, indexes, null);
					float[] f = this.network.features(store, new NDList(x)).singletonOrThrow().toFloatArray();
					System.arraycopy(f, 0, out, from * dim, f.length);
				}
			}
			return out;
		}

		private Optimizer optimizer() {
			Tracker tracker = (numUpdate) -> this.learningRate[0];
			float weightDecay = (float) this.hp.weightDecay();
			return switch (this.hp.optimizer()) {
				case SGD -> Optimizer.sgd()
					.setLearningRateTracker(tracker)
					.optMomentum((float) this.hp.momentum())
					.optWeightDecays(weightDecay)
					.build();
				case ADAM -> Optimizer.adam().optLearningRateTracker(tracker).optWeightDecays(weightDecay).build();
				case ADAMW -> Optimizer.adamW().optLearningRateTracker(tracker).optWeightDecays(weightDecay).build();
			};
		}

		/**
		 * Per-epoch schedules (like PyTorch schedulers stepped once per epoch): step
		 * divides by 10 every third of the run, cosine anneals towards 0.
		 */
		private double learningRate(int epochIndex) {
			double base = this.hp.learningRate();
			int epochs = this.hp.epochs();
			return switch (this.hp.lrSchedule()) {
				case CONSTANT -> base;
				case STEP -> base * Math.pow(0.1, epochIndex / Math.max(1, epochs / 3));
				case COSINE -> base * 0.5 * (1 + Math.cos(Math.PI * epochIndex / epochs));
			};
		}

		/**
		 * sklearn's "balanced": n_samples / (n_classes · n_c), from the training split.
		 */
		private float[] classWeights() {
			float[] weights = new float[this.numClasses];
			Arrays.fill(weights, 1f);
			if (this.hp.classWeights() == ClassWeights.BALANCED) {
				long[] counts = new long[this.numClasses];
				this.data.train().forEach((s) -> counts[s.label()]++);
				for (int c = 0; c < this.numClasses; c++) {
					weights[c] = (counts[c] == 0) ? 0f
							: (float) this.data.train().size() / (this.numClasses * (float) counts[c]);
				}
			}
			return weights;
		}

		private float[] targets(Inputs inputs, int[] indexes, double smoothing) {
			float off = (float) (smoothing / this.numClasses);
			float on = (float) (1 - smoothing) + off;
			float[] target = new float[indexes.length * this.numClasses];
			Arrays.fill(target, off);
			for (int i = 0; i < indexes.length; i++) {
				target[i * this.numClasses + inputs.label(indexes[i])] = on;
			}
			return target;
		}

		private float[] sampleWeights(Inputs inputs, int[] indexes, float[] classWeights) {
			float[] w = new float[indexes.length];
			for (int i = 0; i < indexes.length; i++) {
				w[i] = classWeights[inputs.label(indexes[i])];
			}
			return w;
		}

		/**
		 * PyTorch's CrossEntropyLoss with label smoothing and class weights: per-sample
		 * losses weighted by their class, divided by the weight sum.
		 */
		private NDArray crossEntropy(NDArray logits, NDArray target, NDArray weights) {
			NDArray perSample = logits.logSoftmax(1).mul(target).sum(new int[] { 1 }).neg();
			return perSample.mul(weights).sum().div(weights.sum());
		}

		private byte[] snapshot(Block block) throws IOException {
			ByteArrayOutputStream bytes = new ByteArrayOutputStream();
			try (DataOutputStream out = new DataOutputStream(bytes)) {
				block.saveParameters(out);
			}
			return bytes.toByteArray();
		}

		private void restore(Block block, byte[] weights) throws IOException {
			try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(weights))) {
				block.loadParameters(this.model.getNDManager(), in);
			}
			catch (MalformedModelException ex) {
				throw new IOException("Cannot restore the best epoch's weights", ex);
			}
		}

		private long[][] confusion(Inputs val, int[] predictions) {
			long[][] matrix = new long[this.numClasses][this.numClasses];
			if (predictions != null) {
				for (int i = 0; i < predictions.length; i++) {
					matrix[val.label(i)][predictions[i]]++;
				}
			}
			return matrix;
		}

		private Map<String, ClassMetrics> perClass(long[][] confusion) {
			Map<String, ClassMetrics> result = new LinkedHashMap<>();
			for (int c = 0; c < this.numClasses; c++) {
				long tp = confusion[c][c];
				long support = 0;
				long predicted = 0;
				for (int k = 0; k < this.numClasses; k++) {
					support += confusion[c][k];
					predicted += confusion[k][c];
				}
				double precision = (predicted == 0) ? 0 : (double) tp / predicted;
				double recall = (support == 0) ? 0 : (double) tp / support;
				double f1 = (precision + recall == 0) ? 0 : 2 * precision * recall / (precision + recall);
				result.put(this.data.labels().get(c), new ClassMetrics(precision, recall, f1, support));
			}
			return result;
		}

	}

	private static void shuffle(int[] order, Random random) {
		for (int i = order.length - 1; i > 0; i--) {
			int j = random.nextInt(i + 1);
			int t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}

	private static int[] labels(List<TrainingData.Sample> samples) {
		return samples.stream().mapToInt(TrainingData.Sample::label).toArray();
	}

	private record Evaluation(double loss, double accuracy, int[] predictions) {
	}

	/** A split as batches of network inputs: images or cached features. */
	private interface Inputs {

		int size();

		int label(int index);

		/** {@code random == null}: no augmentation. */
		NDArray batch(NDManager manager, int[] indexes, Random random);

	}

	private record ImageInputs(ImageSet images, int imageSize) implements Inputs {

		@Override
		public int size() {
			return this.images.size();
		}

		@Override
		public int label(int index) {
			return this.images.label(index);
		}

		@Override
		public NDArray batch(NDManager manager, int[] indexes, Random random) {
			int per = 3 * this.imageSize * this.imageSize;
			float[] data = new float[indexes.length * per];
			for (int i = 0; i < indexes.length; i++) {
				this.images.fill(indexes[i], random, data, i * per);
			}
			return manager.create(data, new Shape(indexes.length, 3, this.imageSize, this.imageSize));
		}

	}

	private record FeatureInputs(float[] features, int dim, int[] labels) implements Inputs {

		@Override
		public int size() {
			return this.labels.length;
		}

		@Override
		public int label(int index) {
			return this.labels[index];
		}

		@Override
		public NDArray batch(NDManager manager, int[] indexes, Random random) {
			float[] data = new float[indexes.length * this.dim];
			for (int i = 0; i < indexes.length; i++) {
				System.arraycopy(this.features, indexes[i] * this.dim, data, i * this.dim, this.dim);
			}
			return manager.create(data, new Shape(indexes.length, this.dim));
		}

	}

}
