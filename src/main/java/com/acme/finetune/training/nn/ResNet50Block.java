package com.acme.finetune.training.nn;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import ai.djl.MalformedModelException;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.PairList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.Stage;
import com.acme.finetune.training.artifact.ArtifactBlockFactory;

/**
 * torchvision's ResNet-50 (v1.5: stride on the 3x3 convolution, bias-free convolutions,
 * BatchNorm eps 1e-5 / momentum 0.1) built from plain DJL blocks, with a linear head.
 *
 * <p>
 * DJL's own {@code ResNetV1} is a different network (biased 1x1 convolutions, stride on
 * the 1x1, a 3x3 stem below 33 px), so its parameter counts and behaviour would not match
 * torchvision; this block does, stage by stage. Children are named like torchvision's
 * stages ({@code stem}, {@code layer1}..{@code layer4}, {@code head}) and each stage runs
 * with its own training flag, which is how frozen stages keep their BatchNorm statistics:
 * DJL's freeze API only covers gradients, not running statistics.
 */
public final class ResNet50Block extends AbstractBlock implements Classifier {

	private static final Logger log = LoggerFactory.getLogger(ResNet50Block.class);

	public static final String KIND = "resnet50";

	static final String PARAMS_FILE = "model.params";

	public static final int FEATURE_DIM = 2048;

	private static final byte VERSION = 1;

	private static final int[] BLOCKS = { 3, 4, 6, 3 };

	private static final int[] WIDTHS = { 64, 128, 256, 512 };

	/** The stem, three per bottleneck and one projection shortcut per stage. */
	private static final int CONVOLUTIONS = 1 + 3 * 16 + 4;

	private final List<Block> stages = new ArrayList<>();

	private final Linear head;

	private final int numClasses;

	private Stage frozenUpTo = Stage.NONE;

	private boolean batchNormTrain = true;

	private boolean channelsLast = CpuLayout.CHANNELS_LAST;

	private OneDnnResNet50 oneDnn;

	/** The stages in bf16 mixed precision while training on a CPU, or null for fp32. */
	private Bf16Stages bf16;

	private ResNet50Block(List<Block> stages, Linear head, int numClasses) {
		super(VERSION);
		for (int i = 0; i < stages.size(); i++) {
			this.stages.add(addChildBlock(Stage.values()[i + 1].id(), stages.get(i)));
		}
		this.head = addChildBlock("head", head);
		this.numClasses = numClasses;
	}

	/** A randomly initialisable ResNet-50 with an {@code numClasses}-way head. */
	public static ResNet50Block create(int numClasses) {
		List<Block> stages = new ArrayList<>();
		stages.add(new SequentialBlock().add(conv(64, 7, 2, 3))
			.add(batchNorm())
			.add(Activation.reluBlock())
			.add(Pool.maxPool2dBlock(new Shape(3, 3), new Shape(2, 2), new Shape(1, 1))));
		int in = 64;
		for (int s = 0; s < 4; s++) {
			SequentialBlock layer = new SequentialBlock();
			for (int b = 0; b < BLOCKS[s]; b++) {
				int stride = (s > 0 && b == 0) ? 2 : 1;
				layer.add(bottleneck(in, WIDTHS[s], stride));
				in = WIDTHS[s] * 4;
			}
			stages.add(layer);
		}
		ResNet50Block block = new ResNet50Block(stages, newHead(numClasses), numClasses);
		// torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu") for
		// convolutions,
		// BatchNorm gamma 1 / beta 0 (DJL's defaults); the head is set by HeadInitializer
		block.setInitializer(
				new XavierInitializer(XavierInitializer.RandomType.GAUSSIAN, XavierInitializer.FactorType.OUT, 2),
				Parameter.Type.WEIGHT);
		return block;
	}

	/** The same backbone (shared, already initialised) with a new head. */
	@Override
	public ResNet50Block withNewHead(int classes) {
		return new ResNet50Block(this.stages, newHead(classes), classes);
	}

	public static Linear newHead(int numClasses) {
		return Linear.builder().setUnits(numClasses).build();
	}

	private static Block bottleneck(int in, int width, int stride) {
		SequentialBlock main = new SequentialBlock().add(conv(width, 1, 1, 0))
			.add(batchNorm())
			.add(Activation.reluBlock())
			.add(conv(width, 3, stride, 1))
			.add(batchNorm())
			.add(Activation.reluBlock())
			.add(conv(width * 4, 1, 1, 0))
			.add(batchNorm());
		Block shortcut = (stride != 1 || in != width * 4)
				? new SequentialBlock().add(PointwiseConv2d.create(width * 4, stride)).add(batchNorm())
				: Blocks.identityBlock();
		return new ParallelBlock(
				(list) -> new NDList(
						list.get(0).singletonOrThrow().add(list.get(1).singletonOrThrow()).getNDArrayInternal().relu()),
				List.of(main, shortcut));
	}

	private static Block conv(int filters, int kernel, int stride, int padding) {
		return FoldableConv2d.create(filters, kernel, stride, padding);
	}

	/**
	 * Folds every BatchNorm into the convolution before it, for serving: inference then
	 * makes one pass over each activation instead of two. Rewrites the convolution
	 * weights in place: afterwards the block only predicts (training mode fails) and must
	 * not be saved. For loaded artifacts ({@link ArtifactBlockFactory}).
	 */
	public void foldBatchNorm() {
		for (Block stage : this.stages) {
			foldBatchNorm(stage);
		}
	}

	private static void foldBatchNorm(Block block) {
		List<Block> children = block.getChildren().values();
		for (int i = 0; i < children.size(); i++) {
			Block child = children.get(i);
			if (child instanceof FoldableConv2d conv && i + 1 < children.size()
					&& children.get(i + 1) instanceof BatchNorm2d norm) {
				conv.fold(norm);
			}
			else {
				foldBatchNorm(child);
			}
		}
	}

	/**
	 * After {@link #foldBatchNorm()}: runs the convolutions on oneDNN's blocked layout
	 * ({@link OneDnnResNet50}) for CPU inference from now on. Returns whether it does;
	 * where the weights live on a GPU, or the engine cannot build the module (a libtorch
	 * without oneDNN), the DJL convolutions stay.
	 */
	public boolean useOneDnnLayout(NDManager manager) {
		return useOneDnnLayout(manager, !CpuLayout.CACHES_REPORTED);
	}

	/** As above, choosing how residual sums run (tests compare both). */
	public boolean useOneDnnLayout(NDManager manager, boolean plainShortcut) {
		List<PtNDArray> weightsAndBiases = new ArrayList<>();
		for (Block stage : this.stages) {
			collectFolded(stage, weightsAndBiases);
		}
		if (weightsAndBiases.size() != 2 * CONVOLUTIONS || weightsAndBiases.contains(null)
				|| weightsAndBiases.get(0).getDevice().isGpu()) {
			return false;
		}
		try {
			OneDnnResNet50 packed = OneDnnResNet50.pack((PtNDManager) manager, weightsAndBiases, plainShortcut);
			// a last check that oneDNN computes the same function on this CPU
			ParameterStore store = new ParameterStore(manager, false);
			if (!packed.computesLike((x) -> features(store, new NDList(x)).singletonOrThrow(), manager)) {
				log.warn("Serving on PyTorch's NCHW convolutions: oneDNN's blocked layout computed other features");
				return false;
			}
			this.oneDnn = packed;
			return true;
		}
		catch (IOException | RuntimeException ex) {
			log.warn("Serving on PyTorch's NCHW convolutions: oneDNN's blocked layout is not available ({})",
					ex.toString());
			return false;
		}
	}

	private static void collectFolded(Block block, List<PtNDArray> weightsAndBiases) {
		if (block instanceof FoldableConv2d conv) {
			weightsAndBiases.add((PtNDArray) conv.getParameters().get("weight").getArray());
			weightsAndBiases.add((PtNDArray) conv.foldedBias());
			return;
		}
		for (Block child : block.getChildren().values()) {
			collectFolded(child, weightsAndBiases);
		}
	}

	private static Block batchNorm() {
		return new BatchNorm2d();
	}

	/**
	 * Every weight and BatchNorm statistic under torchvision's {@code resnet50}
	 * state_dict name, in its order: {@code conv1.weight}, {@code bn1.weight},
	 * {@code bn1.bias}, {@code bn1.running_mean}, {@code bn1.running_var},
	 * {@code layer1.0.conv1.weight} … {@code layer1.0.downsample.0.weight},
	 * {@code layer1.0.downsample.1.*} … {@code fc.weight}, {@code fc.bias}. The block is
	 * built to the same shape: each stage's children are its bottlenecks, a bottleneck is
	 * a {@link ParallelBlock} of the main path (conv, BN, ReLU ×3, no last ReLU) and the
	 * shortcut (a projection conv + BN on each stage's first block, else identity); the
	 * stem is conv, BN, ReLU, max pool. Shapes agree too (DJL's convolution and linear
	 * weights are torchvision's {@code out × in × kh × kw} and {@code out × in}), only
	 * {@code num_batches_tracked}, which DJL does not keep, is missing. Only the
	 * parameters of a block that is not folded ({@link #foldBatchNorm()}) mean this.
	 */
	public Map<String, Parameter> torchvisionParameters() {
		Map<String, Parameter> named = new LinkedHashMap<>();
		List<Block> stem = this.stages.get(0).getChildren().values();
		putConvolution(named, "conv1", stem.get(0));
		putBatchNorm(named, "bn1", stem.get(1));
		for (int s = 1; s < this.stages.size(); s++) {
			List<Block> bottlenecks = this.stages.get(s).getChildren().values();
			for (int b = 0; b < bottlenecks.size(); b++) {
				String prefix = "layer" + s + "." + b + ".";
				List<Block> paths = bottlenecks.get(b).getChildren().values();
				List<Block> main = paths.get(0).getChildren().values();
				for (int c = 0; c < 3; c++) {
					// conv, BN, ReLU per step
					putConvolution(named, prefix + "conv" + (c + 1), main.get(3 * c));
					putBatchNorm(named, prefix + "bn" + (c + 1), main.get(3 * c + 1));
				}
				List<Block> shortcut = paths.get(1).getChildren().values();
				if (!shortcut.isEmpty()) {
					putConvolution(named, prefix + "downsample.0", shortcut.get(0));
					putBatchNorm(named, prefix + "downsample.1", shortcut.get(1));
				}
			}
		}
		named.put("fc.weight", this.head.getParameters().get("weight"));
		named.put("fc.bias", this.head.getParameters().get("bias"));
		return named;
	}

	private static void putConvolution(Map<String, Parameter> named, String name, Block block) {
		if (!(block instanceof FoldableConv2d conv)) {
			throw new IllegalStateException(name + " is not a convolution but " + block.getClass().getSimpleName());
		}
		named.put(name + ".weight", conv.getParameters().get("weight"));
	}

	private static void putBatchNorm(Map<String, Parameter> named, String name, Block block) {
		if (!(block instanceof BatchNorm2d norm)) {
			throw new IllegalStateException(name + " is not a BatchNorm but " + block.getClass().getSimpleName());
		}
		PairList<String, Parameter> parameters = norm.getParameters();
		named.put(name + ".weight", parameters.get("gamma"));
		named.put(name + ".bias", parameters.get("beta"));
		named.put(name + ".running_mean", parameters.get("runningMean"));
		named.put(name + ".running_var", parameters.get("runningVar"));
	}

	/**
	 * Freezes every stage up to {@code upTo} (gradients and BatchNorm statistics) and,
	 * with {@code batchNormTrain == false}, keeps the statistics of trainable stages too.
	 */
	@Override
	public void configure(Stage upTo, boolean batchNormTrain) {
		this.frozenUpTo = upTo;
		this.batchNormTrain = batchNormTrain;
		for (int i = 0; i < this.stages.size(); i++) {
			Block stage = this.stages.get(i);
			stage.freezeParameters(Stage.values()[i + 1].isFrozenBy(upTo));
			// running statistics are DJL parameters but never gradient-trained
			stage.freezeParameters(true, ResNet50Block::isRunningStatistic);
		}
		this.head.freezeParameters(false);
	}

	static boolean isRunningStatistic(Parameter p) {
		return p.getType() == Parameter.Type.RUNNING_MEAN || p.getType() == Parameter.Type.RUNNING_VAR;
	}

	@Override
	public String kind() {
		return KIND;
	}

	@Override
	public Linear head() {
		return this.head;
	}

	@Override
	public int featureDim() {
		return FEATURE_DIM;
	}

	@Override
	public int numClasses() {
		return this.numClasses;
	}

	@Override
	public Map<String, List<Parameter>> learnableParameters() {
		Map<String, List<Parameter>> result = new LinkedHashMap<>();
		for (int i = 0; i < this.stages.size(); i++) {
			result.put(Stage.values()[i + 1].id(),
					this.stages.get(i)
						.getParameters()
						.values()
						.stream()
						.filter((p) -> !isRunningStatistic(p))
						.toList());
		}
		result.put("head", this.head.getParameters().values());
		return result;
	}

	@Override
	public void save(Path dir) throws IOException {
		try (DataOutputStream out = new DataOutputStream(
				new BufferedOutputStream(Files.newOutputStream(dir.resolve(PARAMS_FILE)), 1 << 20))) {
			saveParameters(out);
		}
	}

	/** Reads an artifact's {@link #PARAMS_FILE} into a new block. */
	public static ResNet50Block load(NDManager manager, Path dir, int numClasses) throws IOException {
		ResNet50Block block = create(numClasses);
		try (DataInputStream in = new DataInputStream(
				new BufferedInputStream(Files.newInputStream(dir.resolve(PARAMS_FILE)), 1 << 20))) {
			block.loadParameters(manager, in);
		}
		catch (MalformedModelException ex) {
			throw new IOException("Unreadable model parameters in " + dir.getFileName(), ex);
		}
		return block;
	}

	@Override
	protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
			PairList<String, Object> params) {
		if (!training && useOneDnn(inputs)) {
			return this.head.forward(parameterStore, new NDList(this.oneDnn.features(inputs.singletonOrThrow())), false,
					params);
		}
		boolean inBf16 = this.bf16 != null && !inputs.singletonOrThrow().getDevice().isGpu();
		NDList x = inBf16 ? inputs : channelsLast(inputs, this.channelsLast);
		for (int i = 0; i < this.stages.size(); i++) {
			boolean frozen = Stage.values()[i + 1].isFrozenBy(this.frozenUpTo);
			boolean stageTraining = training && this.batchNormTrain && !frozen;
			if (inBf16) {
				x = new NDList(this.bf16.forward(i, x.singletonOrThrow(), parameterStore, training && !frozen,
						stageTraining, this.channelsLast));
			}
			else {
				// frozen stages form a prefix: nothing before them needs gradients either
				x = (!training || frozen) ? forwardScoped(this.stages.get(i), parameterStore, x, false, params)
						: this.stages.get(i).forward(parameterStore, x, stageTraining, params);
			}
		}
		return this.head.forward(parameterStore, pool(x), training, params);
	}

	@Override
	public boolean trainInBf16(boolean on) {
		this.bf16 = on ? new Bf16Stages(this.stages) : null;
		return true;
	}

	@Override
	public boolean trainsInBf16() {
		return this.bf16 != null;
	}

	/**
	 * Sets the running statistics of the BatchNorms in the stages up to {@code upTo} from
	 * data, for a network initialised from scratch whose stages up to there stay frozen:
	 * their placeholders (mean 0, variance 1) normalise nothing, so the frozen stages
	 * multiply the activations' scale through their residual blocks (features with a mean
	 * magnitude near 20, a saturated softmax, a head that cannot learn). Each batch runs
	 * through those stages in training mode without gradients, and the batches'
	 * statistics are averaged with equal weight, as
	 * {@code torch.optim.swa_utils.update_bn} does (PyTorch's {@code momentum=None}).
	 * @param batches NCHW image batches, each closed here after its pass
	 * @param cancelled polled before every batch; stops the calibration when true
	 * @return whether it ran to the end
	 */
	public boolean calibrateBatchNorm(ParameterStore parameterStore, Iterator<NDArray> batches, Stage upTo,
			BooleanSupplier cancelled) {
		List<Block> stages = stagesUpTo(upTo);
		boolean[] training = new boolean[stages.size()];
		Arrays.fill(training, true);
		return averageStatistics(parameterStore, batches, stages, training, batchNorms(upTo), cancelled);
	}

	/**
	 * Sets the running statistics of the BatchNorms that train them (the trainable
	 * stages, when configured to use batch statistics) from batches run through the
	 * network as its weights are now, averaged with equal weight: PreciseBN (Wu and
	 * Johnson, "Rethinking 'Batch' in BatchNorm", 2021). Trained with momentum 0.1, the
	 * running statistics trail weights that move fast (a model fine-tuned before and
	 * continued with its earlier frozen stages trainable reached validation losses of
	 * 9-200 on statistics six steps old); evaluation and the saved model use these
	 * instead.
	 * @param batches NCHW image batches, each closed here after its pass
	 * @param cancelled polled before every batch; stops the pass when true
	 * @return whether it ran to the end (also when there is nothing to estimate)
	 */
	public boolean reestimateBatchNorm(ParameterStore parameterStore, Iterator<NDArray> batches,
			BooleanSupplier cancelled) {
		List<BatchNorm2d> norms = new ArrayList<>();
		boolean[] training = new boolean[this.stages.size()];
		for (int i = 0; i < this.stages.size(); i++) {
			training[i] = this.batchNormTrain && !Stage.values()[i + 1].isFrozenBy(this.frozenUpTo);
			if (training[i]) {
				collectBatchNorms(this.stages.get(i), norms);
			}
		}
		if (norms.isEmpty()) {
			return true;
		}
		return averageStatistics(parameterStore, batches, this.stages, training, norms, cancelled);
	}

	/** Whether {@link #reestimateBatchNorm} has statistics to estimate. */
	public boolean trainsBatchStatistics() {
		return this.batchNormTrain && this.frozenUpTo != Stage.LAYER4;
	}

	/**
	 * Runs each batch through {@code stages} without gradients, in training mode where
	 * {@code training} says so, with {@code norms} averaging the batches' statistics.
	 */
	private boolean averageStatistics(ParameterStore parameterStore, Iterator<NDArray> batches, List<Block> stages,
			boolean[] training, List<BatchNorm2d> norms, BooleanSupplier cancelled) {
		boolean gradMode = JniUtils.isGradMode();
		JniUtils.setGradMode(false);
		try {
			for (int k = 1; batches.hasNext(); k++) {
				if (cancelled.getAsBoolean()) {
					return false;
				}
				double momentum = 1.0 / k;
				norms.forEach((norm) -> norm.momentum(momentum));
				NDArray batch = batches.next();
				try (NDManager scope = batch.getManager().newSubManager()) {
					batch.attach(scope);
					NDList x = channelsLast(new NDList(batch), this.channelsLast);
					for (int i = 0; i < stages.size(); i++) {
						x = forwardScoped(stages.get(i), parameterStore, x, training[i], null);
					}
				}
			}
			return true;
		}
		finally {
			norms.forEach((norm) -> norm.momentum(null));
			JniUtils.setGradMode(gradMode);
		}
	}

	/**
	 * The running statistics of the stages up to {@code upTo}: mean and variance of each
	 * BatchNorm in order.
	 */
	public List<float[]> runningStatistics(Stage upTo) {
		List<float[]> statistics = new ArrayList<>();
		for (BatchNorm2d norm : batchNorms(upTo)) {
			statistics.addAll(List.of(norm.runningStatistics()));
		}
		return statistics;
	}

	/** Sets what {@link #runningStatistics(Stage)} returned for the same stages. */
	public void runningStatistics(Stage upTo, List<float[]> statistics) {
		List<BatchNorm2d> norms = batchNorms(upTo);
		if (statistics.size() != 2 * norms.size()) {
			throw new IllegalArgumentException(
					"expected statistics of " + norms.size() + " BatchNorms, got " + statistics.size() / 2);
		}
		for (int i = 0; i < norms.size(); i++) {
			norms.get(i).runningStatistics(statistics.get(2 * i), statistics.get(2 * i + 1));
		}
	}

	private List<Block> stagesUpTo(Stage upTo) {
		List<Block> stages = new ArrayList<>();
		for (int i = 0; i < this.stages.size(); i++) {
			if (Stage.values()[i + 1].isFrozenBy(upTo)) {
				stages.add(this.stages.get(i));
			}
		}
		return stages;
	}

	private List<BatchNorm2d> batchNorms(Stage upTo) {
		List<BatchNorm2d> norms = new ArrayList<>();
		stagesUpTo(upTo).forEach((stage) -> collectBatchNorms(stage, norms));
		return norms;
	}

	private static void collectBatchNorms(Block block, List<BatchNorm2d> norms) {
		if (block instanceof BatchNorm2d norm) {
			norms.add(norm);
		}
		for (Block child : block.getChildren().values()) {
			collectBatchNorms(child, norms);
		}
	}

	/** Whether CPU inference runs on oneDNN's blocked layout. */
	public boolean onOneDnnLayout() {
		return this.oneDnn != null;
	}

	@Override
	public OneDnnResNet50 oneDnnNetwork() {
		return this.oneDnn;
	}

	@Override
	public boolean addBf16(NDManager manager) {
		if (this.oneDnn == null) {
			return false;
		}
		List<PtNDArray> weightsAndBiases = new ArrayList<>();
		for (Block stage : this.stages) {
			collectFolded(stage, weightsAndBiases);
		}
		this.oneDnn.addBf16((PtNDManager) manager, weightsAndBiases);
		return true;
	}

	private boolean useOneDnn(NDList inputs) {
		return this.oneDnn != null && !inputs.singletonOrThrow().getDevice().isGpu();
	}

	/**
	 * The same NCHW batch stored channels-last (NHWC strides) on CPUs where
	 * {@link CpuLayout} allows it: PyTorch keeps that memory format through convolutions,
	 * BatchNorm, ReLU and pooling, and oneDNN runs its NHWC kernels without reordering
	 * every convolution's input and output. One copy of the input; values and shape
	 * unchanged.
	 */
	private static NDList channelsLast(NDList inputs, boolean enabled) {
		NDArray x = inputs.singletonOrThrow();
		Shape s = x.getShape();
		if (!enabled || x.getDevice().isGpu() || s.dimension() != 4) {
			return inputs;
		}
		return new NDList(toChannelsLast(x));
	}

	/** Overrides the {@link CpuLayout} choice for this block (tests compare layouts). */
	public void useChannelsLast(boolean enabled) {
		this.channelsLast = enabled;
	}

	/** {@code x} (NCHW) copied into NHWC memory, still indexed as NCHW. */
	private static NDArray toChannelsLast(NDArray x) {
		Shape s = x.getShape();
		return x.transpose(0, 2, 3, 1).flatten().reshape(s.get(0), s.get(2), s.get(3), s.get(1)).transpose(0, 3, 1, 2);
	}

	/**
	 * Runs a stage whose intermediate tensors autograd will never need (inference, a
	 * frozen stage, BatchNorm calibration without gradients; {@code training} selects
	 * batch statistics) in its own memory scope, so only the stage's output survives:
	 * peak native memory is one stage's activations instead of the whole network's, which
	 * is what limits batched inference on small CPU nodes.
	 */
	private static NDList forwardScoped(Block stage, ParameterStore parameterStore, NDList x, boolean training,
			PairList<String, Object> params) {
		NDArray input = x.singletonOrThrow();
		NDManager parent = input.getManager();
		try (NDManager scope = parent.newSubManager()) {
			input.tempAttach(scope);
			NDList out = stage.forward(parameterStore, x, training, params);
			out.attach(parent);
			return out;
		}
	}

	/** The 2048-d embedding, always with frozen (inference) BatchNorm. */
	@Override
	public NDList features(ParameterStore parameterStore, NDList inputs) {
		if (useOneDnn(inputs)) {
			return new NDList(this.oneDnn.features(inputs.singletonOrThrow()));
		}
		NDList x = channelsLast(inputs, this.channelsLast);
		for (Block stage : this.stages) {
			x = forwardScoped(stage, parameterStore, x, false, null);
		}
		return pool(x);
	}

	/**
	 * The output of {@code layer4} (N×2048×h×w) with inference BatchNorm, through the DJL
	 * stages even where serving runs on oneDNN's layout (which only yields pooled
	 * features): what Grad-CAM explains.
	 */
	public NDArray lastStage(ParameterStore parameterStore, NDArray input) {
		NDList x = channelsLast(new NDList(input), this.channelsLast);
		for (Block stage : this.stages) {
			x = forwardScoped(stage, parameterStore, x, false, null);
		}
		return x.singletonOrThrow();
	}

	private static NDList pool(NDList x) {
		NDArray pooled = Pool.globalAvgPool2d(x.singletonOrThrow());
		return new NDList(pooled.reshape(pooled.getShape().get(0), -1));
	}

	@Override
	public Shape[] getOutputShapes(Shape[] inputShapes) {
		return new Shape[] { new Shape(inputShapes[0].get(0), this.numClasses) };
	}

	@Override
	protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
		Shape[] shapes = inputShapes;
		for (Block stage : this.stages) {
			if (!stage.isInitialized()) {
				stage.initialize(manager, dataType, shapes);
			}
			shapes = stage.getOutputShapes(shapes);
		}
		if (!this.head.isInitialized()) {
			this.head.initialize(manager, dataType, new Shape(shapes[0].get(0), shapes[0].get(1)));
		}
	}

}
