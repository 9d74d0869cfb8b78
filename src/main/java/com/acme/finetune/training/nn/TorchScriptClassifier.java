package com.acme.finetune.training.nn;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.BatchNormPolicy;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Stage;

/**
 * A TorchScript feature extractor (uploaded backbone or the ImageNet ResNet-50 with its
 * classifier cut off) followed by a DJL linear head.
 *
 * <p>
 * DJL cannot call submodules of a TorchScript module, so stages are found by torchvision
 * parameter names ({@code conv1.}/{@code bn1.} = stem, {@code layerN.}); parameters
 * outside those stages always stay frozen. BatchNorm statistics are buffers DJL cannot
 * see: the module only runs in training mode when BatchNorm training was asked for (and,
 * for a scripted module, nothing is frozen), so frozen stages never change their
 * statistics (an eval-mode trace never does anyway); otherwise it trains in eval mode
 * with autograd on ({@link BatchNormPolicy}).
 */
public final class TorchScriptClassifier extends AbstractBlock implements Classifier {

	private static final Logger log = LoggerFactory.getLogger(TorchScriptClassifier.class);

	public static final String KIND = "torchscript";

	public static final String BACKBONE_FILE = "backbone.pt";

	public static final String HEAD_FILE = "head.params";

	private static final byte VERSION = 1;

	private final PtSymbolBlock backbone;

	private final Linear head;

	private final int featureDim;

	private final int numClasses;

	private final boolean classifierRemoved;

	private boolean backboneTrainable;

	private boolean updatesStatisticsInTrainMode;

	private boolean batchStatistics;

	private OneDnnResNet50 oneDnn;

	/** The backbone file {@link #oneDnn} was packed from. */
	private Path oneDnnSource;

	public TorchScriptClassifier(PtSymbolBlock backbone, Linear head, int featureDim, int numClasses,
			boolean classifierRemoved) {
		super(VERSION);
		this.classifierRemoved = classifierRemoved;
		// other stays false: before configure() everything is trainable
		this.backbone = addChildBlock("backbone", backbone);
		this.head = addChildBlock("head", head);
		this.featureDim = featureDim;
		this.numClasses = numClasses;
	}

	/** The stage a TorchScript parameter belongs to, {@code null} outside the stages. */
	static Stage stageOf(String parameterName) {
		if (parameterName.startsWith("conv1.") || parameterName.startsWith("bn1.")) {
			return Stage.STEM;
		}
		for (Stage stage : new Stage[] { Stage.LAYER1, Stage.LAYER2, Stage.LAYER3, Stage.LAYER4 }) {
			if (parameterName.startsWith(stage.id() + ".")) {
				return stage;
			}
		}
		return null;
	}

	public static Set<Stage> stagesOf(PtSymbolBlock backbone) {
		Set<Stage> stages = EnumSet.noneOf(Stage.class);
		for (Parameter p : backbone.getParameters().values()) {
			Stage stage = stageOf(p.getName());
			if (stage != null) {
				stages.add(stage);
			}
		}
		return stages;
	}

	@Override
	public void configure(Stage upTo, boolean batchNormTrain) {
		for (Parameter p : this.backbone.getParameters().values()) {
			Stage stage = stageOf(p.getName());
			p.freeze(stage == null || stage.isFrozenBy(upTo) || isDetachedClassifier(p.getName()));
		}
		this.head.freezeParameters(false);
		this.backboneTrainable = this.backbone.getParameters().values().stream().anyMatch(Parameter::requiresGradient);
		// a scripted module switches all its BatchNorms together: batch statistics in
		// trainable stages would update the frozen stages' statistics too
		if (this.backboneTrainable && this.updatesStatisticsInTrainMode && upTo != Stage.NONE && batchNormTrain) {
			throw new InvalidBackboneException("This TorchScript backbone updates BatchNorm statistics in training "
					+ "mode (a scripted module, not an eval-mode trace), so batchNorm=train cannot keep the frozen "
					+ "stages' statistics while other stages train. Use batchNorm=auto or frozen, freeze.upTo=none, "
					+ "or upload torch.jit.trace(model.eval(), example) instead.", null);
		}
		this.batchStatistics = batchNormTrain;
	}

	/** Whether the module runs in training mode (batch statistics) while it trains. */
	boolean usesBatchStatistics() {
		return this.backboneTrainable && this.batchStatistics && this.updatesStatisticsInTrainMode;
	}

	public boolean updatesStatisticsInTrainMode() {
		return this.updatesStatisticsInTrainMode;
	}

	/**
	 * Set when a probe saw the module change its BatchNorm statistics in training mode.
	 */
	public void setUpdatesStatisticsInTrainMode(boolean value) {
		this.updatesStatisticsInTrainMode = value;
	}

	public boolean classifierRemoved() {
		return this.classifierRemoved;
	}

	public PtSymbolBlock backbone() {
		return this.backbone;
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
		return this.featureDim;
	}

	@Override
	public int numClasses() {
		return this.numClasses;
	}

	@Override
	public Map<String, List<Parameter>> learnableParameters() {
		Map<String, List<Parameter>> result = new LinkedHashMap<>();
		for (Stage stage : Stage.values()) {
			if (stage != Stage.NONE) {
				result.put(stage.id(), new ArrayList<>());
			}
		}
		result.put("other", new ArrayList<>());
		for (Parameter p : this.backbone.getParameters().values()) {
			if (isDetachedClassifier(p.getName())) {
				continue;
			}
			Stage stage = stageOf(p.getName());
			result.get((stage != null) ? stage.id() : "other").add(p);
		}
		result.put("head", this.head.getParameters().values());
		return result;
	}

	/**
	 * The ImageNet module keeps its 1000-way {@code fc} attribute after the surgery that
	 * stops calling it; those parameters are dead and not part of the network.
	 */
	private boolean isDetachedClassifier(String name) {
		return this.classifierRemoved && name.startsWith("fc.");
	}

	@Override
	public void save(Path dir) throws IOException {
		try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(BACKBONE_FILE)), 1 << 20)) {
			JniUtils.writeModule(this.backbone, out, false);
		}
		try (DataOutputStream out = new DataOutputStream(
				new BufferedOutputStream(Files.newOutputStream(dir.resolve(HEAD_FILE))))) {
			this.head.saveParameters(out);
		}
	}

	@Override
	public TorchScriptClassifier withNewHead(int classes) {
		return new TorchScriptClassifier(this.backbone, ResNet50Block.newHead(classes), this.featureDim, classes,
				this.classifierRemoved);
	}

	@Override
	protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
			PairList<String, Object> params) {
		NDList features;
		if (training && this.backboneTrainable) {
			features = embed(parameterStore, inputs, true);
		}
		else {
			features = embed(parameterStore, inputs, false);
			if (training) {
				// inference-mode output: autograd needs a normal tensor for the head
				features = new NDList(features.singletonOrThrow().duplicate());
			}
		}
		return this.head.forward(parameterStore, features, training, params);
	}

	@Override
	public NDList features(ParameterStore parameterStore, NDList inputs) {
		return embed(parameterStore, inputs, false);
	}

	/**
	 * For serving on CPUs: when the backbone is torchvision's ResNet-50 (the ImageNet
	 * one, or an uploaded one) - its file holds those tensors, and on a probe batch the
	 * packed network computes what the module computes - runs it on oneDNN's blocked
	 * layout with BatchNorm folded ({@link OneDnnResNet50}) from now on. Returns whether
	 * it does; any other module keeps running as it is.
	 */
	public boolean useOneDnnLayout(NDManager manager, Path backboneFile, boolean plainShortcut) {
		if (manager.getDevice().isGpu()) {
			return false;
		}
		OneDnnResNet50 packed;
		try {
			packed = OneDnnResNet50.packTorchvision((PtNDManager) manager, TorchScriptState.read(backboneFile),
					plainShortcut);
		}
		catch (IOException | RuntimeException ex) {
			log.debug("TorchScript backbone {} stays as it is: {}", backboneFile, ex.toString());
			return false;
		}
		ParameterStore store = new ParameterStore(manager, false);
		if (!packed.computesLike((x) -> embed(store, new NDList(x), false).singletonOrThrow(), manager)) {
			log.info("TorchScript backbone {} stays as it is: torchvision's ResNet-50 names, different features",
					backboneFile.getFileName());
			return false;
		}
		this.oneDnn = packed;
		this.oneDnnSource = backboneFile;
		return true;
	}

	/** Whether inference runs on oneDNN's blocked layout. */
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
		try (NDManager scope = manager.newSubManager()) {
			this.oneDnn.addBf16((PtNDManager) manager,
					OneDnnResNet50.torchvisionFolded(scope, TorchScriptState.read(this.oneDnnSource)));
			return true;
		}
		catch (IOException ex) {
			log.warn("No bfloat16 copy of {}: {}", this.oneDnnSource.getFileName(), ex.toString());
			return false;
		}
	}

	private NDList embed(ParameterStore parameterStore, NDList inputs, boolean training) {
		if (!training && this.oneDnn != null && !inputs.singletonOrThrow().getDevice().isGpu()) {
			return new NDList(this.oneDnn.features(inputs.singletonOrThrow()));
		}
		NDArray out;
		if (training) {
			// training runs the module as written: the profiling graph executor's
			// optimised graph (from the third call on) was seen to turn the first
			// gradients of an eval-mode trace trained from its stem into NaN in some
			// runs
			JniUtils.setGraphExecutorOptimize(false);
		}
		try {
			if (training && !this.batchStatistics) {
				// DJL ties autograd to training mode; BatchNorm on its running statistics
				// with gradients needs the module in eval mode, run with autograd on
				JniUtils.enableInferenceMode(this.backbone);
				out = IValueUtils.forward(this.backbone, inputs, true).get(0);
			}
			else {
				out = this.backbone.forward(parameterStore, inputs, training, null).get(0);
			}
		}
		finally {
			if (training) {
				JniUtils.setGraphExecutorOptimize(true);
			}
		}
		return new NDList(out.reshape(out.getShape().get(0), -1));
	}

	@Override
	public Shape[] getOutputShapes(Shape[] inputShapes) {
		return new Shape[] { new Shape(inputShapes[0].get(0), this.numClasses) };
	}

	@Override
	protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
		if (!this.head.isInitialized()) {
			this.head.initialize(manager, dataType, new Shape(inputShapes[0].get(0), this.featureDim));
		}
	}

}
