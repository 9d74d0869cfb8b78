package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.acme.finetune.inference.ModelBatcher.ModelClosedException;
import com.acme.finetune.inference.ModelBatcher.QueueFullException;
import com.acme.finetune.inference.ModelRegistry.LoadedModel;
import com.acme.finetune.training.artifact.GradCam;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Service;
import org.springframework.web.multipart.MultipartFile;

/**
 * Grad-CAM explanations of one image, with every bound of a prediction request: the same
 * size, header, pixel and heap checks and decoding ({@link PredictionService}), the same
 * loaded model ({@link ModelRegistry}), and a place in the same bounded queue of that
 * model: an explanation runs on the model's worker between prediction batches, so it
 * never runs on a model being unloaded, and a full queue answers 503.
 */
@Service
class ExplanationService {

	/** Loads tried when the model keeps being evicted under the request. */
	private static final int ATTEMPTS = 3;

	/** Known labels named in a problem, at most. */
	private static final int MAX_LABELS_LISTED = 100;

	private final ModelRegistry registry;

	private final PredictionService predictions;

	private final InferenceProperties properties;

	private final InferenceMetrics metrics;

	ExplanationService(ModelRegistry registry, PredictionService predictions, InferenceProperties properties,
			InferenceMetrics metrics) {
		this.registry = registry;
		this.predictions = predictions;
		this.properties = properties;
		this.metrics = metrics;
	}

	Explained explain(UUID modelId, List<MultipartFile> files, String label) {
		long start = System.nanoTime();
		try {
			Explained explained = run(modelId, files, label, start);
			this.metrics.explanation(System.nanoTime() - start, "ok");
			return explained;
		}
		catch (ApiException ex) {
			this.metrics.explanation(System.nanoTime() - start, outcome(ex));
			throw ex;
		}
	}

	private Explained run(UUID modelId, List<MultipartFile> files, String label, long start) {
		long deadline = start + this.properties.requestTimeout().toNanos();
		if (files == null || files.isEmpty()) {
			throw PredictionService.invalid("image", "one 'image' part is required");
		}
		if (files.size() > 1) {
			throw PredictionService.invalid("image", "one image per explanation, got " + files.size());
		}
		if (label != null && label.isBlank()) {
			throw PredictionService.invalid("label", "must not be blank (leave it out for the top-1 label)");
		}
		long bytes = files.get(0).getSize();
		if (bytes > this.properties.maxRequestSize().toBytes()) {
			throw PredictionService.tooLarge("The image has " + bytes + " bytes, over the limit of "
					+ this.properties.maxRequestSize().toBytes() + " bytes per request");
		}
		// the model first: an unknown model is a 404 whatever the image is
		LoadedModel model = this.registry.acquire(modelId);
		Integer labelIndex = null;
		if (label != null) {
			int index = model.labels().indexOf(label);
			if (index < 0) {
				throw unknownLabel(label, model.labels());
			}
			labelIndex = index;
		}
		List<ImageDecoder.Plan> plans = this.predictions.plan(files, model.resizeShorter());
		long estimate = plans.get(0).pixels() * PredictionService.BYTES_PER_PIXEL;
		ImageMemory memory = this.predictions.imageMemory();
		if (estimate > memory.capacity()) {
			throw PredictionService.tooLarge("Decoded for this model the image needs " + (estimate >> 20)
					+ " MB, more than the " + (memory.capacity() >> 20) + " MB that predictions may hold at once");
		}
		ImageMemory.Reservation reservation = memory.tryReserve(estimate);
		if (reservation == null) {
			throw this.predictions.busy("The images waiting for predictions fill the memory set aside for them");
		}
		CompletableFuture<GradCam.Explanation> future = null;
		try {
			BufferedImage image = this.predictions.decode(files, model.resizeShorter(), deadline).get(0);
			reservation.adjust(ImageDecoder.bytes(image));
			future = submit(modelId, model, image, labelIndex);
		}
		finally {
			if (future == null) {
				reservation.close();
			}
			else {
				future.whenComplete((done, failure) -> reservation.close());
			}
		}
		GradCam.Explanation explanation = await(modelId, future, deadline);
		return new Explained(modelId, explanation, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
	}

	private CompletableFuture<GradCam.Explanation> submit(UUID modelId, LoadedModel model, BufferedImage image,
			Integer labelIndex) {
		LoadedModel current = model;
		for (int attempt = 1;; attempt++) {
			try {
				return current.batcher().submitTask((artifact) -> artifact.gradCam().explain(image, labelIndex));
			}
			catch (QueueFullException ex) {
				throw this.predictions.busy("The prediction queue of model " + modelId + " is full");
			}
			catch (ModelClosedException ex) {
				if (attempt >= ATTEMPTS) {
					throw this.predictions.busy("Model " + modelId + " is being evicted and reloaded repeatedly");
				}
				current = this.registry.acquire(modelId);
			}
		}
	}

	private GradCam.Explanation await(UUID modelId, CompletableFuture<GradCam.Explanation> future, long deadline) {
		try {
			return future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
		}
		catch (TimeoutException ex) {
			throw this.predictions.busy("The explanation of model " + modelId + " took longer than "
					+ this.properties.requestTimeout().toSeconds() + " s");
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw this.predictions.busy("Interrupted while waiting for the explanation");
		}
		catch (ExecutionException ex) {
			Throwable cause = ex.getCause();
			if (cause instanceof GradCam.NotExplainableException notExplainable) {
				throw new ApiException(ProblemType.NOT_EXPLAINABLE,
						"Model " + modelId + " cannot be explained with Grad-CAM: " + notExplainable.getMessage());
			}
			if (cause instanceof ModelClosedException) {
				throw this.predictions.busy("Model " + modelId + " was unloaded while the request waited");
			}
			if (cause instanceof IllegalStateException && cause.getMessage() != null
					&& cause.getMessage().contains("already collecting")) {
				// another gradient collector in this process (a training run in-process)
				throw this.predictions.busy("Gradients are being collected by other work in this process");
			}
			if (cause instanceof OutOfMemoryError || PredictionService.outOfNativeMemory(cause)) {
				throw new ApiException(ProblemType.INSUFFICIENT_STORAGE,
						"Not enough memory to explain with model " + modelId + " now; retry later")
					.withHeader(HttpHeaders.RETRY_AFTER, Long.toString(this.predictions.retryAfterSeconds()));
			}
			throw new IllegalStateException("Explanation failed on model " + modelId, cause);
		}
	}

	private static ApiException unknownLabel(String label, List<String> labels) {
		List<String> listed = labels.subList(0, Math.min(labels.size(), MAX_LABELS_LISTED));
		String shown = (label.length() > 100) ? label.substring(0, 100) + "…" : label;
		return new ApiException(ProblemType.VALIDATION,
				"The model has no label '" + shown + "'; it knows " + String.join(", ", listed)
						+ ((labels.size() > listed.size()) ? ", …" : ""))
			.with("errors", List.of(Map.of("field", "label", "message", "not one of the model's labels")))
			.with("knownLabels", listed);
	}

	private static String outcome(ApiException ex) {
		return switch (ex.type()) {
			case NOT_EXPLAINABLE -> "not-explainable";
			case SERVICE_BUSY -> "busy";
			case NOT_FOUND -> "not-found";
			default -> (ex.status().is4xxClientError()) ? "invalid" : "error";
		};
	}

	/** An explanation with what the response needs besides it. */
	record Explained(UUID modelId, GradCam.Explanation explanation, long latencyMs) {
	}

}
