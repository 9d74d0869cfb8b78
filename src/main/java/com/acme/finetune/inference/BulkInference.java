package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.translate.TranslateException;
import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;

import org.springframework.stereotype.Component;

/**
 * Classification of many stored images on a worker (evaluations, batch predictions): the
 * same decoding ({@link ImageDecoder}, with the serving pixel limit) and the same
 * preprocessing and softmax (the artifact's translator) as {@code POST
 * /models/{id}/predictions}, but in large batches on a model loaded for the run alone, so
 * that bulk work neither waits in nor slows the online batching queue; in the precision
 * the model serves in online ({@link PrecisionChooser}). A file that cannot be decoded
 * gets an error of its own; the others go on.
 */
@Component
public class BulkInference {

	private final ModelCatalog catalog;

	private final DjlRuntime runtime;

	private final InferenceProperties properties;

	private final ImageDecoder decoder;

	private final PrecisionChooser precisions;

	BulkInference(ModelCatalog catalog, DjlRuntime runtime, InferenceProperties properties,
			PrecisionChooser precisions) {
		this.catalog = catalog;
		this.precisions = precisions;
		this.runtime = runtime;
		this.properties = properties;
		this.decoder = new ImageDecoder(properties.maxImagePixels());
	}

	/**
	 * Loads the model for one run; close the session to free its native memory.
	 * @throws com.acme.finetune.web.ApiException 404 when the model is gone
	 */
	public Session open(UUID modelId) throws IOException {
		Path dir = this.catalog.acceptedArtifactDir(modelId);
		this.runtime.engine();
		ModelArtifact artifact = ModelArtifact.load(dir, this.properties.device());
		try {
			return new Session(artifact, this.precisions.choose(modelId, artifact));
		}
		catch (RuntimeException | Error ex) {
			artifact.close();
			throw ex;
		}
	}

	/** One image to classify: a name to report and the file holding it. */
	public record Input(String name, Path file) {
	}

	/**
	 * The probability of every label (in {@link Session#labels()} order), or why the file
	 * could not be classified.
	 */
	public record Result(String name, double[] probabilities, String error) {

		public boolean failed() {
			return this.error != null;
		}

	}

	/** A model loaded for one run, with its own predictor (used by one thread). */
	public final class Session implements AutoCloseable {

		private final ModelArtifact artifact;

		private final Predictor<BufferedImage, Classifications> predictor;

		private final ServingPrecision.Decision precision;

		private Session(ModelArtifact artifact, ServingPrecision.Decision precision) {
			this.artifact = artifact;
			this.precision = precision;
			this.predictor = artifact.newPredictor();
		}

		/**
		 * What the model classifies in for this run ({@code fp32} or {@code bf16}), and
		 * why.
		 */
		public ServingPrecision.Decision precision() {
			return this.precision;
		}

		public List<String> labels() {
			return this.artifact.labels();
		}

		/**
		 * Classifies the inputs as one forward pass (those that decode); results in input
		 * order.
		 */
		public List<Result> classify(List<Input> inputs) {
			int resize = this.artifact.preprocessing().resizeShorter();
			List<Result> results = new ArrayList<>(inputs.size());
			List<BufferedImage> images = new ArrayList<>(inputs.size());
			List<Integer> positions = new ArrayList<>(inputs.size());
			for (Input input : inputs) {
				try (InputStream in = Files.newInputStream(input.file())) {
					images.add(BulkInference.this.decoder.decode(input.name(), in, resize));
					positions.add(results.size());
					results.add(null);
				}
				catch (ImageDecoder.InvalidImageException ex) {
					results.add(new Result(input.name(), null, ex.getMessage()));
				}
				catch (IOException ex) {
					results.add(new Result(input.name(), null, "cannot be read"));
				}
				catch (OutOfMemoryError ex) {
					results.add(new Result(input.name(), null, "too large to decode now"));
				}
			}
			if (!images.isEmpty()) {
				List<Classifications> classified;
				try {
					classified = this.predictor.batchPredict(images);
				}
				catch (TranslateException ex) {
					throw new IllegalStateException("The forward pass failed: " + ex.getMessage(), ex);
				}
				for (int i = 0; i < classified.size(); i++) {
					List<Double> p = classified.get(i).getProbabilities();
					double[] probabilities = new double[p.size()];
					for (int k = 0; k < probabilities.length; k++) {
						probabilities[k] = p.get(k);
					}
					int at = positions.get(i);
					results.set(at, new Result(inputs.get(at).name(), probabilities, null));
				}
			}
			return results;
		}

		@Override
		public void close() {
			try {
				this.predictor.close();
			}
			finally {
				this.artifact.close();
			}
		}

	}

}
