package com.acme.finetune.training.artifact;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.ReentrantLock;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Preprocessing;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.ResNet50Block;
import com.acme.finetune.training.nn.TorchScriptClassifier;
import com.acme.finetune.training.nn.TorchScriptLayer4;

/**
 * Grad-CAM (Selvaraju et al., 2017) for a loaded model: which places of the image made
 * the network score a label. The activation {@code A} of the last stage ({@code layer4},
 * K×h×w) is computed without gradients; then, with autograd on {@code A} only, the head
 * scores the average-pooled activation, and the gradient of the chosen label's logit with
 * respect to {@code A} weighs each channel: {@code α_k = mean_ij ∂y_c/∂A_kij}, heat map
 * {@code = ReLU(Σ_k α_k A_k)}, divided by its maximum. The network's weights are read
 * through detached copies, so no gradient ever reaches them.
 *
 * <p>
 * Works for the built-in ResNet-50 (its stages run as served, BatchNorm folded) and for
 * TorchScript backbones whose source calls a {@code layer4} stage and whose features are
 * that stage's average-pooled output (torchvision's ResNets, {@code resnet50-imagenet}):
 * {@link TorchScriptLayer4} adds a method returning the stage's output, checked against
 * the backbone's own features on a probe batch. Anything else is refused with
 * {@link NotExplainableException}.
 *
 * <p>
 * Thread-safe; one explanation's tensors live in a sub-manager of the model's manager and
 * are freed when it returns.
 */
public final class GradCam {

	/**
	 * DJL's PyTorch gradient collector is one per process ("only one can be collecting at
	 * a time"); the backward pass here covers only pooling and the head (microseconds).
	 */
	private static final ReentrantLock COLLECTING = new ReentrantLock();

	private final Classifier network;

	private final List<String> labels;

	private final Preprocessing preprocessing;

	private final NDManager manager;

	/** The TorchScript backbone with {@link TorchScriptLayer4#METHOD}; null otherwise. */
	private final PtSymbolBlock layer4Module;

	private GradCam(Classifier network, List<String> labels, Preprocessing preprocessing, NDManager manager,
			PtSymbolBlock layer4Module) {
		this.network = network;
		this.labels = labels;
		this.preprocessing = preprocessing;
		this.manager = manager;
		this.layer4Module = layer4Module;
	}

	/**
	 * Grad-CAM for a loaded artifact. A TorchScript backbone is loaded a second time with
	 * its layer4 exposed (on the model's manager, so it is freed with the model).
	 * @throws NotExplainableException when the network has no last stage to explain
	 */
	static GradCam of(ModelArtifact artifact) {
		Block block = artifact.model().getBlock();
		NDManager manager = artifact.model().getNDManager();
		if (block instanceof ResNet50Block resnet) {
			return new GradCam(resnet, artifact.labels(), artifact.preprocessing(), manager, null);
		}
		if (!(block instanceof TorchScriptClassifier torchScript)) {
			throw new NotExplainableException("This model's network is not a ResNet with a layer4 stage");
		}
		if (!TorchScriptClassifier.stagesOf(torchScript.backbone()).contains(Stage.LAYER4)) {
			throw new NotExplainableException("The uploaded backbone of this model has no parameters named "
					+ "'layer4.*', so it has no identifiable last stage (Grad-CAM supports torchvision-style ResNets)");
		}
		PtSymbolBlock module = exposeLayer4(manager, artifact.dir().resolve(TorchScriptClassifier.BACKBONE_FILE));
		GradCam gradCam = new GradCam(torchScript, artifact.labels(), artifact.preprocessing(), manager, module);
		try {
			gradCam.checkPooledLayer4IsTheFeatures();
			return gradCam;
		}
		catch (RuntimeException ex) {
			module.close();
			throw ex;
		}
	}

	private static PtSymbolBlock exposeLayer4(NDManager manager, Path backbone) {
		Path copy = null;
		try {
			copy = TorchScriptLayer4.exposedCopy(backbone);
			// through loadBackbone: on CPUs that report no cache sizes its convolutions
			// get
			// the layout guard (TorchScriptConvolutions), as when the model serves
			PtSymbolBlock module = ArtifactBlockFactory.loadBackbone(manager, copy, false);
			JniUtils.enableInferenceMode(module);
			return module;
		}
		catch (InvalidBackboneException ex) {
			throw new NotExplainableException(ex.getMessage());
		}
		catch (IOException | RuntimeException ex) {
			throw new NotExplainableException(
					"The backbone's layer4 stage could not be exposed (" + ex.getMessage() + ")");
		}
		finally {
			if (copy != null) {
				try {
					Files.deleteIfExists(copy);
				}
				catch (IOException ex) {
					// a temporary file left behind
				}
			}
		}
	}

	/**
	 * On a fixed random batch, the average-pooled layer4 output must be the backbone's
	 * features (within 1e-3 of their largest magnitude): then the head sees exactly what
	 * the gradient is taken through.
	 */
	private void checkPooledLayer4IsTheFeatures() {
		try (NDManager probe = this.manager.newSubManager()) {
			Random random = new Random(7);
			int size = 64;
			float[] pixels = new float[3 * size * size];
			for (int i = 0; i < pixels.length; i++) {
				pixels[i] = (float) random.nextGaussian();
			}
			NDArray x = probe.create(pixels, new Shape(1, 3, size, size));
			float[] expected;
			float[] actual;
			boolean grad = JniUtils.isGradMode();
			JniUtils.setGradMode(false);
			try {
				expected = this.network.features(new ParameterStore(probe, false), new NDList(x))
					.singletonOrThrow()
					.toFloatArray();
				NDArray layer4 = lastStage(x, probe);
				if (layer4.getShape().dimension() != 4 || layer4.getShape().get(1) != this.network.featureDim()) {
					throw new NotExplainableException("The backbone's layer4 output has shape " + layer4.getShape()
							+ ", not batch × " + this.network.featureDim() + " × height × width");
				}
				actual = spatialMean(layer4).toFloatArray();
			}
			finally {
				JniUtils.setGradMode(grad);
			}
			float scale = 1e-6f;
			float diff = 0;
			for (int i = 0; i < Math.min(expected.length, actual.length); i++) {
				scale = Math.max(scale, Math.abs(expected[i]));
				diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
			}
			if (expected.length != actual.length || diff > 1e-3f * scale) {
				throw new NotExplainableException("The backbone's features are not the average-pooled output of its "
						+ "layer4 stage (it transforms them further), so Grad-CAM cannot attribute the head's scores "
						+ "to layer4");
			}
		}
	}

	/**
	 * Explains one image.
	 * @param image decoded image (any size; the model's evaluation transform is applied)
	 * @param labelIndex the label to explain, or null for the top-1
	 */
	public Explanation explain(BufferedImage image, Integer labelIndex) {
		Preprocessing.RgbImage crop = this.preprocessing.centerCrop(this.preprocessing.resize(image));
		int s = this.preprocessing.imageSize();
		float[] data = new float[3 * s * s];
		this.preprocessing.normalize(crop, false, data, 0);
		boolean grad = JniUtils.isGradMode();
		try (NDManager scope = this.manager.newSubManager()) {
			NDArray x = scope.create(data, new Shape(1, 3, s, s));
			NDArray activation;
			JniUtils.setGradMode(false);
			try {
				// a plain tensor (not an inference-mode one) that autograd can track
				activation = lastStage(x, scope).duplicate();
			}
			finally {
				JniUtils.setGradMode(grad);
			}
			Shape shape = activation.getShape();
			int channels = (int) shape.get(1);
			int height = (int) shape.get(2);
			int width = (int) shape.get(3);
			NDArray weight = detached(this.network.head().getParameters().get("weight").getArray(), scope);
			NDArray bias = detached(this.network.head().getParameters().get("bias").getArray(), scope);
			activation.setRequiresGradient(true);
			int label;
			float[] probabilities;
			NDArray gradient;
			COLLECTING.lock();
			try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
				NDArray logits = spatialMean(activation).matMul(weight.transpose()).add(bias);
				probabilities = logits.softmax(1).toFloatArray();
				label = (labelIndex != null) ? labelIndex : argmax(probabilities);
				collector.backward(logits.get(0, label));
				gradient = activation.getGradient();
			}
			finally {
				COLLECTING.unlock();
				JniUtils.setGradMode(grad);
			}
			float[] a = activation.stopGradient().reshape(channels, (long) height * width).toFloatArray();
			float[] g = gradient.reshape(channels, (long) height * width).toFloatArray();
			float[][] heatmap = heatmap(a, g, channels, height, width);
			return new Explanation(label, this.labels.get(label), probabilities[label], heatmap, toImage(crop));
		}
	}

	/** ReLU(Σ_k α_k A_k) with α_k the spatial mean of the gradient, scaled to [0, 1]. */
	static float[][] heatmap(float[] activation, float[] gradient, int channels, int height, int width) {
		int cells = height * width;
		double[] cam = new double[cells];
		for (int k = 0; k < channels; k++) {
			double alpha = 0;
			for (int i = 0; i < cells; i++) {
				alpha += gradient[k * cells + i];
			}
			alpha /= cells;
			if (alpha == 0) {
				continue;
			}
			for (int i = 0; i < cells; i++) {
				cam[i] += alpha * activation[k * cells + i];
			}
		}
		double max = 0;
		for (double v : cam) {
			max = Math.max(max, v);
		}
		float[][] map = new float[height][width];
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				double v = cam[y * width + x];
				map[y][x] = (max > 0 && v > 0) ? (float) (v / max) : 0f;
			}
		}
		return map;
	}

	/** The last stage's output for an NCHW batch, in {@code scope}. */
	private NDArray lastStage(NDArray x, NDManager scope) {
		if (this.layer4Module == null) {
			return ((ResNet50Block) this.network).lastStage(new ParameterStore(scope, false), x);
		}
		try (IValue in = IValue.from((PtNDArray) x);
				IValue out = IValueUtils.runMethod(this.layer4Module, TorchScriptLayer4.METHOD, in)) {
			return out.toTensor((PtNDManager) scope);
		}
	}

	/** A copy of a weight that autograd does not track, freed with {@code scope}. */
	private static NDArray detached(NDArray array, NDManager scope) {
		NDArray copy = array.stopGradient();
		copy.attach(scope);
		return copy;
	}

	/** N×K×h×w → N×K (PyTorch's mean in DJL takes one axis). */
	private static NDArray spatialMean(NDArray x) {
		Shape s = x.getShape();
		return x.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).mean(new int[] { 2 });
	}

	private static int argmax(float[] values) {
		int best = 0;
		for (int i = 1; i < values.length; i++) {
			if (values[i] > values[best]) {
				best = i;
			}
		}
		return best;
	}

	private static BufferedImage toImage(Preprocessing.RgbImage crop) {
		BufferedImage image = new BufferedImage(crop.width(), crop.height(), BufferedImage.TYPE_INT_RGB);
		byte[] rgb = crop.rgb();
		for (int y = 0; y < crop.height(); y++) {
			for (int x = 0; x < crop.width(); x++) {
				int i = 3 * (y * crop.width() + x);
				image.setRGB(x, y, ((rgb[i] & 0xFF) << 16) | ((rgb[i + 1] & 0xFF) << 8) | (rgb[i + 2] & 0xFF));
			}
		}
		return image;
	}

	/**
	 * One explanation.
	 *
	 * @param labelIndex the explained label's index in the model's labels
	 * @param probability the model's softmax probability of that label for this image
	 * @param heatmap rows × columns at the last stage's resolution, in [0, 1] (1 = the
	 * strongest evidence for the label; all 0 when nothing in the image speaks for it)
	 * @param input the image as the network saw it (resized and centre-cropped)
	 */
	public record Explanation(int labelIndex, String label, double probability, float[][] heatmap,
			BufferedImage input) {
	}

	/** The model's network has no last stage that Grad-CAM can use. */
	public static final class NotExplainableException extends RuntimeException {

		NotExplainableException(String message) {
			super(message);
		}

	}

}
