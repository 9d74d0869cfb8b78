package com.acme.finetune.training;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.FreezeSchedule.Phase;
import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.TrainingResult.ClassMetrics;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;

/**
 * The training loop of one run, over the phases of its freeze schedule: each phase
 * configures which stages train, and trains on cached backbone features when only the
 * head does (the embedding cache) or on images otherwise. After every epoch it writes a
 * {@link Checkpoint}; a run given one continues after its epoch.
 */
final class TrainingRun {

	private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

	/** How many training images re-estimate BatchNorm statistics after each epoch. */
	static final int REESTIMATION_IMAGES = 192;

	/**
	 * Fewer training images than this keep the running statistics: estimated from a few
	 * near-alike images, a channel's variance is near zero and the saved model amplifies
	 * the last bits of its input (18 flat-colour images gave a model whose top-1 changed
	 * with DJL's resize in 5 of 9 images).
	 */
	static final int REESTIMATION_MINIMUM = 64;

	/**
	 * Batches of 32 whatever the training batch (see
	 * {@link FineTuner#CALIBRATION_IMAGES}).
	 */
	private static final int REESTIMATION_BATCH = 32;

	private final TrainingRequest request;

	private final TrainingData data;

	private final TrainingListener listener;

	private final Device device;

	private final Preprocessing preprocessing;

	private final Model model;

	private final Classifier network;

	private final long imageMemoryBudget;

	private final FineTuner.RunObserver observer;

	private final Hyperparameters hp;

	private final int numClasses;

	private final FreezeSchedule schedule;

	private final boolean cacheAllowed;

	private final boolean scripted;

	private final StageOptimizer optimizer;

	/** Whether any phase trains backbone parameters (else only the head changes). */
	private final boolean backboneTrains;

	/** The counts of the phase that trains the most: what the run trains at all. */
	private final ParameterCounts counts;

	private final String fingerprint;

	private final Checkpoint.Stored resumeFrom;

	private final Checkpoint.State resumeState;

	private int phaseIndex = -1;

	private boolean cacheUsed;

	private Model headModel;

	private Trainer trainer;

	private Inputs train;

	private Inputs val;

	private Inputs.Features[] cached;

	private Inputs.Images[] images;

	private float learningRate;

	TrainingRun(TrainingRequest request, TrainingData data, TrainingListener listener, Device device,
			Preprocessing preprocessing, Model model, Classifier network, long imageMemoryBudget,
			FineTuner.RunObserver observer, String fingerprint, Checkpoint.Stored resumeFrom,
			Checkpoint.State resumeState) {
		this.request = request;
		this.data = data;
		this.listener = listener;
		this.device = device;
		this.preprocessing = preprocessing;
		this.model = model;
		this.network = network;
		this.imageMemoryBudget = imageMemoryBudget;
		this.observer = observer;
		this.hp = request.hyperparameters();
		this.numClasses = data.labels().size();
		this.schedule = request.freezeSchedule();
		this.cacheAllowed = request.cacheDir() != null && this.hp.augmentation() == Augmentation.NONE;
		this.scripted = (network instanceof TorchScriptClassifier ts) && ts.updatesStatisticsInTrainMode();
		this.fingerprint = fingerprint;
		this.resumeFrom = resumeFrom;
		this.resumeState = resumeState;
		configure(this.schedule.finalUpTo());
		this.counts = FineTuner.countActual(network);
		this.backboneTrains = this.counts.trainable() != this.counts.byStage().get("head").trainable();
		this.optimizer = new StageOptimizer(this.hp.optimizer(), this.hp.momentum(), this.hp.weightDecay());
		StageLearningRates rates = this.hp.stageLearningRates();
		network.learnableParameters()
			.forEach((stage, params) -> params
				.forEach((p) -> this.optimizer.multiplier(p.getId(), rates.multiplier(stage))));
	}

	/** Whether the head will train on cached features first (for the result's counts). */
	ParameterCounts counts() {
		return this.counts;
	}

	TrainingResult execute() throws IOException {
		try {
			return loop();
		}
		finally {
			closeTrainer();
		}
	}

	private TrainingResult loop() throws IOException {
		int batch = this.hp.batchSize();
		int trainSize = this.data.train().size();
		// no step of a single image: BatchNorm on batch statistics cannot normalise one
		// value per channel (layer4's maps are 1x1 at 32 px), so a last batch of one
		// joins the one before
		int steps = Math.max(1, trainSize / batch + ((trainSize % batch > 1) ? 1 : 0));
		LearningRateSchedule rates = new LearningRateSchedule(this.hp, steps);
		float[] classWeights = classWeights();
		Random shuffle = new Random(this.hp.seed());
		Random augment = new Random(this.hp.seed() * 31 + 17);
		List<EpochMetrics> epochs = new ArrayList<>();
		int bestEpoch = 0;
		double bestScore = Double.NaN;
		byte[] bestWeights = null;
		int[] bestPredictions = null;
		int[] order = new int[trainSize];
		for (int i = 0; i < order.length; i++) {
			order[i] = i;
		}
		EarlyStoppingMetric metric = this.hp.earlyStopping().metric();
		int patience = this.hp.earlyStopping().patience();
		int first = 1;
		Checkpoint.State resumed = this.resumeState;
		if (resumed != null) {
			epochs.addAll(resumed.metrics());
			bestEpoch = resumed.bestEpoch();
			bestScore = resumed.bestScore();
			bestPredictions = resumed.bestPredictions();
			order = resumed.order();
			shuffle = resumed.shuffle();
			augment = resumed.augment();
			first = resumed.epoch() + 1;
			try (DataInputStream in = Checkpoint.openState(this.resumeFrom)) {
				Checkpoint.readState(in);
				this.optimizer.read(in, parameterIds(), this.model.getNDManager());
			}
			bestWeights = this.resumeFrom.bestWeights();
			if (bestWeights == null && bestEpoch == resumed.epoch() && resumed.epoch() < this.hp.epochs()) {
				bestWeights = snapshot(snapshotBlock());
			}
			log.info("Resuming after epoch {} of {} from {}", resumed.epoch(), this.hp.epochs(),
					this.resumeFrom.dir().getFileName());
			if ((patience > 0 && resumed.epoch() - bestEpoch >= patience)
					|| (resumed.epoch() < this.hp.epochs() && this.listener.stopAfterEpoch(resumed.epoch()))) {
				// the checkpoint's epoch already stopped the run early
				first = this.hp.epochs() + 1;
			}
		}
		this.listener.onStart(this.hp.epochs(), steps, first - 1);
		for (int epoch = first; epoch <= this.hp.epochs(); epoch++) {
			enterPhase(this.schedule.indexAt(epoch - 1));
			// torch's generator at the same position in every epoch, resumed or not
			Engine.getEngine(FineTuner.ENGINE).setRandomSeed((int) (this.hp.seed() * 1_000_003L + epoch));
			FineTuner.shuffle(order, shuffle);
			long epochStart = System.nanoTime();
			double lossSum = 0;
			long correct = 0;
			for (int step = 1; step <= steps; step++) {
				if (this.listener.isCancelled()) {
					throw new TrainingCancelledException(epoch, step);
				}
				long stepStart = System.nanoTime();
				int from = (step - 1) * batch;
				int size = (step == steps) ? trainSize - from : Math.min(batch, trainSize - from);
				int[] indexes = Arrays.copyOfRange(order, from, from + size);
				this.learningRate = (float) rates.stepRate(epoch - 1, step - 1);
				this.optimizer.learningRate(this.learningRate);
				float stepLoss;
				long[] predictions;
				// every native array of the step lives in this scope and is freed at
				// its end: unscoped, memory grows by ~175 MiB per step
				try (NDManager scope = this.trainer.getManager().newSubManager()) {
					NDArray x = this.train.batch(scope, indexes, augment);
					NDArray target = scope.create(targets(this.train, indexes, this.hp.labelSmoothing()),
							new Shape(size, this.numClasses));
					NDArray weights = scope.create(sampleWeights(this.train, indexes, classWeights));
					try (GradientCollector collector = this.trainer.newGradientCollector()) {
						NDArray logits = this.trainer.forward(new NDList(x)).singletonOrThrow();
						NDArray loss = crossEntropy(logits, target, weights);
						collector.backward(loss);
						stepLoss = loss.getFloat();
						predictions = logits.argMax(1).toLongArray();
					}
					if (!Float.isFinite(stepLoss)) {
						throw new TrainingDivergedException(epoch, step, stepLoss, this.learningRate);
					}
					this.trainer.step();
				}
				lossSum += (double) stepLoss * size;
				for (int i = 0; i < size; i++) {
					correct += (predictions[i] == this.train.label(indexes[i])) ? 1 : 0;
				}
				double seconds = (System.nanoTime() - stepStart) / 1e9;
				this.listener.onStep(epoch, step, steps, stepLoss, size / seconds);
			}
			double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
			reestimateBatchNorm(epoch, steps);
			Evaluation evaluation = evaluate();
			long durationMs = (System.nanoTime() - epochStart) / 1_000_000;
			Phase phase = this.schedule.phases().get(this.phaseIndex);
			EpochMetrics metrics = new EpochMetrics(epoch, lossSum / trainSize, (double) correct / trainSize,
					evaluation.loss(), evaluation.accuracy(), this.learningRate, durationMs, trainSize / trainSeconds,
					this.phaseIndex, phase.upTo().id());
			epochs.add(metrics);
			boolean validated = this.val.size() > 0;
			double score = score(metrics, metric, validated);
			// without a validation split nothing selects an epoch: the last one is kept
			if (!validated || bestEpoch == 0 || score > bestScore) {
				bestEpoch = epoch;
				bestScore = score;
				bestPredictions = evaluation.predictions();
				// only needed if a later epoch could be worse and the run goes on
				bestWeights = (validated && epoch < this.hp.epochs()) ? snapshot(snapshotBlock()) : null;
			}
			// recorded before the checkpoint: a run stopped in between trains this epoch
			// again and records it anew, and never skips recording it
			this.listener.onEpoch(metrics);
			checkpoint(new Checkpoint.State(epoch, this.fingerprint, this.backboneTrains, epochs, bestEpoch, bestScore,
					bestPredictions, order, shuffle, augment), (bestEpoch != epoch) ? bestWeights : null);
			if (patience > 0 && epoch - bestEpoch >= patience) {
				log.info("Early stopping after epoch {}: no {} improvement since epoch {}", epoch, metric.id(),
						bestEpoch);
				break;
			}
			if (epoch < this.hp.epochs() && this.listener.stopAfterEpoch(epoch)) {
				log.info("Stopped after epoch {} of {} on request", epoch, this.hp.epochs());
				break;
			}
		}
		if (bestEpoch != epochs.size() && bestWeights != null) {
			restore(snapshotBlock(), bestWeights);
		}
		closeTrainer();
		if (this.phaseIndex < 0) {
			// resumed after the last epoch: nothing trained in this attempt
			configure(this.schedule.finalUpTo());
		}
		return finish(epochs, bestEpoch, bestPredictions);
	}

	private TrainingResult finish(List<EpochMetrics> epochs, int bestEpoch, int[] bestPredictions) throws IOException {
		this.observer.trained(this.network);
		ModelArtifact.write(this.request.outputDir(), this.network, this.data.labels(), this.preprocessing);
		ModelArtifact.writeProbeImages(this.request.outputDir(), probeImages());
		long[][] confusion = confusion(bestPredictions);
		return new TrainingResult(List.copyOf(epochs), bestEpoch, List.copyOf(this.data.labels()), perClass(confusion),
				confusion, this.request.outputDir(), this.counts, this.cacheUsed,
				this.network.trainsInBf16() ? ServingPrecision.BF16 : ServingPrecision.FP32);
	}

	/**
	 * Per class, the validation images (the training images where nothing is held out)
	 * that check a served model's bf16 against fp32.
	 */
	private List<List<Path>> probeImages() {
		List<TrainingData.Sample> samples = this.data.validation().isEmpty() ? this.data.train()
				: this.data.validation();
		List<List<Path>> byClass = new ArrayList<>();
		for (int c = 0; c < this.data.labels().size(); c++) {
			byClass.add(new ArrayList<>());
		}
		for (TrainingData.Sample sample : samples) {
			byClass.get(sample.label()).add(sample.image());
		}
		return byClass;
	}

	/**
	 * Moves the run into a phase of its freeze schedule: stages unfrozen now get their
	 * optimizer state at their first update; the head-only phase trains on cached
	 * features, later phases on images.
	 */
	private void enterPhase(int index) {
		if (index == this.phaseIndex) {
			return;
		}
		Phase phase = this.schedule.phases().get(index);
		configure(phase.upTo());
		ParameterCounts phaseCounts = FineTuner.countActual(this.network);
		boolean headOnly = phaseCounts.trainable() == phaseCounts.byStage().get("head").trainable();
		boolean useCache = this.cacheAllowed && headOnly;
		closeTrainer();
		DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
			.optOptimizer(this.optimizer)
			.optDevices(new Device[] { this.device });
		if (useCache) {
			Inputs.Features[] features = features();
			this.train = features[0];
			this.val = features[1];
			// the very same head object trains on features, in its own Model so the
			// Trainer only sees (and updates) the head's parameters
			this.headModel = Model.newInstance("head", this.device, FineTuner.ENGINE);
			this.headModel.setBlock(this.network.head());
			this.trainer = this.headModel.newTrainer(config);
			this.trainer.initialize(new Shape(1, this.network.featureDim()));
			this.cacheUsed = true;
		}
		else {
			Inputs.Images[] live = images();
			this.train = live[0];
			this.val = live[1];
			this.trainer = this.model.newTrainer(config);
			this.trainer.initialize(new Shape(1, 3, this.hp.imageSize(), this.hp.imageSize()));
		}
		if (this.schedule.phases().size() > 1) {
			log.info("Phase {} from epoch {}: frozen up to {}, {} of {} parameters trainable, {}", index,
					phase.epoch() + 1, phase.upTo().id(), phaseCounts.trainable(), phaseCounts.total(),
					useCache ? "cached features" : "live features");
		}
		this.phaseIndex = index;
	}

	/**
	 * After an epoch that trained backbone BatchNorm statistics, sets them from up to
	 * {@link #REESTIMATION_IMAGES} training images (with at least
	 * {@link #REESTIMATION_MINIMUM}) with the epoch's final weights
	 * ({@link ResNet50Block#reestimateBatchNorm}), so that evaluation and the saved model
	 * do not normalise with statistics of weights several steps old. The images are those
	 * evaluation and serving see (not augmented), picked by a generator of their own: the
	 * training order and augmentation stay as without it, resumed or not.
	 */
	private void reestimateBatchNorm(int epoch, int steps) {
		if (!(this.network instanceof ResNet50Block resnet) || !resnet.trainsBatchStatistics()
				|| !(this.train instanceof Inputs.Images images)) {
			return;
		}
		int trainSize = this.data.train().size();
		if (trainSize < REESTIMATION_MINIMUM) {
			return;
		}
		int[] order = new int[trainSize];
		for (int i = 0; i < trainSize; i++) {
			order[i] = i;
		}
		FineTuner.shuffle(order, new Random(this.hp.seed() * 7919 + 3));
		int count = Math.min(trainSize, REESTIMATION_IMAGES);
		List<int[]> batches = new ArrayList<>();
		for (int from = 0; from < count;) {
			int to = Math.min(count, from + REESTIMATION_BATCH);
			// no batch of one: a 1x1 map of one image has no variance
			to = (count - to == 1) ? count : to;
			batches.add(Arrays.copyOfRange(order, from, to));
			from = to;
		}
		NDManager manager = this.model.getNDManager();
		Iterator<NDArray> arrays = batches.stream().map((indexes) -> images.batch(manager, indexes, null)).iterator();
		if (!resnet.reestimateBatchNorm(new ParameterStore(manager, false), arrays, this.listener::isCancelled)) {
			throw new TrainingCancelledException(epoch, steps);
		}
	}

	private void configure(Stage upTo) {
		this.network.configure(upTo,
				BatchNormPolicy.trainsStatistics(this.network.kind(), this.scripted, this.request.batchNorm(), upTo));
	}

	private void closeTrainer() {
		if (this.trainer != null) {
			this.trainer.close();
			this.trainer = null;
		}
		if (this.headModel != null) {
			this.headModel.close();
			this.headModel = null;
		}
	}

	/** The block whose weights change in this run: the head alone, or the network. */
	private Block snapshotBlock() {
		return this.backboneTrains ? this.network : this.network.head();
	}

	private void checkpoint(Checkpoint.State state, byte[] bestWeights) {
		if (this.request.checkpointDir() == null) {
			return;
		}
		long start = System.nanoTime();
		try {
			Map<String, String> names = parameterNames();
			long bytes = Checkpoint.write(this.request.checkpointDir(), state, bestWeights, new Checkpoint.Writer() {
				@Override
				public void weights(java.nio.file.Path dir) throws IOException {
					if (TrainingRun.this.backboneTrains) {
						Checkpoint.saveNetwork(TrainingRun.this.network, TrainingRun.this.scripted, dir);
					}
					else {
						Checkpoint.saveHead(TrainingRun.this.network.head(), dir);
					}
				}

				@Override
				public void optimizer(DataOutputStream out) throws IOException {
					TrainingRun.this.optimizer.write(out, names);
				}
			});
			long millis = (System.nanoTime() - start) / 1_000_000;
			log.info("Checkpoint after epoch {} written in {} ms ({} MB)", state.epoch(), millis, bytes >> 20);
			this.listener.onCheckpoint(state.epoch(), millis, bytes);
		}
		catch (IOException | RuntimeException ex) {
			// a run does not fail because its checkpoint could not be written; it just
			// cannot resume from this epoch
			log.warn("Could not write the checkpoint after epoch {}: {}", state.epoch(), ex.toString());
		}
	}

	/** Stable names (the block's parameter paths) by parameter id. */
	private Map<String, String> parameterNames() {
		Map<String, String> names = new HashMap<>();
		for (Pair<String, Parameter> p : this.network.getParameters()) {
			names.put(p.getValue().getId(), p.getKey());
		}
		return names;
	}

	private Map<String, String> parameterIds() {
		Map<String, String> ids = new HashMap<>();
		parameterNames().forEach((id, name) -> ids.put(name, id));
		return ids;
	}

	/**
	 * Higher is better; without a validation split (a job trained on train + validation)
	 * the training loss is recorded, but the last epoch is always the one kept.
	 */
	private static double score(EpochMetrics m, EarlyStoppingMetric metric, boolean hasValidation) {
		if (!hasValidation) {
			return -m.trainLoss();
		}
		return (metric == EarlyStoppingMetric.VAL_ACCURACY) ? m.valAccuracy() : -m.valLoss();
	}

	private Evaluation evaluate() {
		Inputs inputs = this.val;
		if (inputs.size() == 0) {
			return new Evaluation(Double.NaN, Double.NaN, new int[0]);
		}
		int batch = this.hp.batchSize();
		double lossSum = 0;
		long correct = 0;
		int[] predictions = new int[inputs.size()];
		for (int from = 0; from < inputs.size(); from += batch) {
			if (this.listener.isCancelled()) {
				throw new TrainingCancelledException(0, 0);
			}
			int size = Math.min(batch, inputs.size() - from);
			int[] indexes = new int[size];
			for (int i = 0; i < size; i++) {
				indexes[i] = from + i;
			}
			try (NDManager scope = this.trainer.getManager().newSubManager()) {
				NDArray x = inputs.batch(scope, indexes, null);
				NDArray logits = this.trainer.evaluate(new NDList(x)).singletonOrThrow();
				NDArray target = scope.create(targets(inputs, indexes, 0), new Shape(size, this.numClasses));
				// plain cross-entropy: comparable across smoothing and class weights
				lossSum += logits.logSoftmax(1).mul(target).sum().neg().getFloat();
				long[] predicted = logits.argMax(1).toLongArray();
				for (int i = 0; i < size; i++) {
					predictions[from + i] = (int) predicted[i];
					correct += (predicted[i] == inputs.label(from + i)) ? 1 : 0;
				}
			}
		}
		return new Evaluation(lossSum / inputs.size(), (double) correct / inputs.size(), predictions);
	}

	private Inputs.Images[] images() {
		if (this.images == null) {
			long budget = this.imageMemoryBudget;
			this.images = new Inputs.Images[] {
					new Inputs.Images(
							new ImageSet(this.data.train(), this.preprocessing, this.hp.augmentation(), budget * 4 / 5),
							this.preprocessing.imageSize()),
					new Inputs.Images(
							new ImageSet(this.data.validation(), this.preprocessing, Augmentation.NONE, budget / 5),
							this.preprocessing.imageSize()) };
		}
		return this.images;
	}

	private Inputs.Features[] features() {
		if (this.cached == null) {
			EmbeddingCache.Features features = embeddings();
			this.cached = new Inputs.Features[] {
					new Inputs.Features(features.train(), features.dim(), labels(this.data.train())),
					new Inputs.Features(features.val(), features.dim(), labels(this.data.validation())) };
		}
		return this.cached;
	}

	private EmbeddingCache.Features embeddings() {
		EmbeddingCache cache = EmbeddingCache.of(this.request.cacheDir(), this.request.base(), this.data,
				this.preprocessing, this.hp.seed(), this.device.getDeviceType());
		int dim = this.network.featureDim();
		EmbeddingCache.Features features = cache.read(this.data.train().size(), this.data.validation().size(), dim);
		if (features != null) {
			log.info("Embedding cache hit: {}", cache.file().getFileName());
			return features;
		}
		long budget = this.imageMemoryBudget;
		float[] trainFeatures = embed(new ImageSet(this.data.train(), this.preprocessing, Augmentation.NONE, budget),
				dim);
		float[] valFeatures = embed(new ImageSet(this.data.validation(), this.preprocessing, Augmentation.NONE, budget),
				dim);
		features = new EmbeddingCache.Features(trainFeatures, valFeatures, dim);
		try {
			cache.write(features);
		}
		catch (IOException ex) {
			// a run does not fail because its cache could not be stored
			log.warn("Could not store the embedding cache {}: {}", cache.file(), ex.toString());
		}
		return features;
	}

	private float[] embed(ImageSet set, int dim) {
		Inputs inputs = new Inputs.Images(set, this.preprocessing.imageSize());
		float[] out = new float[set.size() * dim];
		ParameterStore store = new ParameterStore(this.model.getNDManager(), false);
		int batch = Math.max(this.hp.batchSize(), 16);
		for (int from = 0; from < set.size(); from += batch) {
			if (this.listener.isCancelled()) {
				throw new TrainingCancelledException(0, 0);
			}
			int size = Math.min(batch, set.size() - from);
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

	/**
	 * sklearn's "balanced": n_samples / (n_classes · n_c), from the training split.
	 */
	private float[] classWeights() {
		float[] weights = new float[this.numClasses];
		Arrays.fill(weights, 1f);
		if (this.hp.classWeights() == ClassWeights.BALANCED) {
			long[] classCounts = new long[this.numClasses];
			this.data.train().forEach((s) -> classCounts[s.label()]++);
			for (int c = 0; c < this.numClasses; c++) {
				weights[c] = (classCounts[c] == 0) ? 0f
						: (float) this.data.train().size() / (this.numClasses * (float) classCounts[c]);
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

	private static float[] sampleWeights(Inputs inputs, int[] indexes, float[] classWeights) {
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
	private static NDArray crossEntropy(NDArray logits, NDArray target, NDArray weights) {
		NDArray perSample = logits.logSoftmax(1).mul(target).sum(new int[] { 1 }).neg();
		return perSample.mul(weights).sum().div(weights.sum());
	}

	private static byte[] snapshot(Block block) throws IOException {
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

	private long[][] confusion(int[] predictions) {
		long[][] matrix = new long[this.numClasses][this.numClasses];
		List<TrainingData.Sample> validation = this.data.validation();
		if (predictions != null) {
			for (int i = 0; i < predictions.length; i++) {
				matrix[validation.get(i).label()][predictions[i]]++;
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

	private static int[] labels(List<TrainingData.Sample> samples) {
		return samples.stream().mapToInt(TrainingData.Sample::label).toArray();
	}

	private record Evaluation(double loss, double accuracy, int[] predictions) {
	}

	/** Wraps checked failures of the loop for the caller. */
	static TrainingResult run(TrainingRun run) {
		try {
			return run.execute();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
