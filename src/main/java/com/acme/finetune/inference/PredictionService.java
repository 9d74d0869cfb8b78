package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import ai.djl.modality.Classifications;
import com.acme.finetune.inference.ImageDecoder.InvalidImageException;
import com.acme.finetune.inference.ModelBatcher.ModelClosedException;
import com.acme.finetune.inference.ModelBatcher.QueueFullException;
import com.acme.finetune.inference.ModelRegistry.LoadedModel;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Service;
import org.springframework.web.multipart.MultipartFile;

/** Decodes the uploaded images and runs them through the model's batching queue. */
@Service
class PredictionService {

	/**
	 * Loads tried when the model keeps being evicted under the request (cache thrash).
	 */
	private static final int ATTEMPTS = 3;

	private final ModelRegistry registry;

	private final InferenceProperties properties;

	private final InferenceMetrics metrics;

	private final ImageDecoder decoder;

	PredictionService(ModelRegistry registry, InferenceProperties properties, InferenceMetrics metrics) {
		this.registry = registry;
		this.properties = properties;
		this.metrics = metrics;
		this.decoder = new ImageDecoder(properties.maxImagePixels());
	}

	PredictionResponse predict(UUID modelId, List<MultipartFile> files, Integer topK) {
		long start = System.nanoTime();
		if (files == null || files.isEmpty()) {
			throw invalid("image", "at least one 'image' part is required");
		}
		// a request the queue could never hold is the client's error, not "busy"
		int maxImages = Math.min(this.properties.maxImagesPerRequest(), this.properties.queueCapacity());
		if (files.size() > maxImages) {
			throw invalid("image", "at most " + maxImages + " images per request");
		}
		if (topK != null && topK < 1) {
			throw invalid("topK", "must be at least 1");
		}
		// the model first: an unknown model is a 404 whatever the images are
		LoadedModel model = this.registry.acquire(modelId);
		int k = Math.min((topK != null) ? topK : 5, model.labels().size());
		List<Classifications> results;
		// in flight from here to the reply: what the batcher sizes its batches by
		try (ModelBatcher.Arrival arrival = model.batcher().announce()) {
			results = await(modelId, submit(modelId, model, decode(files)));
		}
		List<PredictionResponse.Prediction> predictions = new ArrayList<>(results.size());
		for (int i = 0; i < results.size(); i++) {
			Classifications c = results.get(i);
			c.setTopK(k);
			List<PredictionResponse.Label> top = c.topK()
				.stream()
				.map((l) -> new PredictionResponse.Label(l.getClassName(), l.getProbability()))
				.toList();
			predictions.add(new PredictionResponse.Prediction(name(files.get(i), i), top));
		}
		long nanos = System.nanoTime() - start;
		this.metrics.latency(nanos);
		return new PredictionResponse(modelId, predictions, TimeUnit.NANOSECONDS.toMillis(nanos));
	}

	private List<BufferedImage> decode(List<MultipartFile> files) {
		List<BufferedImage> images = new ArrayList<>(files.size());
		for (int i = 0; i < files.size(); i++) {
			MultipartFile file = files.get(i);
			String name = name(file, i);
			try (InputStream in = file.getInputStream()) {
				images.add(this.decoder.decode(name, in));
			}
			catch (InvalidImageException ex) {
				throw new ApiException(ex.type(), "Image '" + name + "': " + ex.getMessage()).with("errors",
						List.of(Map.of("file", name, "reason", ex.getMessage())));
			}
			catch (IOException ex) {
				throw new ApiException(ProblemType.MALFORMED_REQUEST, "Image '" + name + "' could not be read");
			}
		}
		return images;
	}

	private List<CompletableFuture<Classifications>> submit(UUID modelId, LoadedModel model,
			List<BufferedImage> images) {
		LoadedModel current = model;
		for (int attempt = 1;; attempt++) {
			try {
				return current.batcher().submit(images);
			}
			catch (QueueFullException ex) {
				throw busy("The prediction queue of model " + modelId + " is full");
			}
			catch (ModelClosedException ex) {
				if (attempt >= ATTEMPTS) {
					throw busy("Model " + modelId + " is being evicted and reloaded repeatedly");
				}
				current = this.registry.acquire(modelId);
			}
		}
	}

	private List<Classifications> await(UUID modelId, List<CompletableFuture<Classifications>> futures) {
		long deadline = System.nanoTime() + this.properties.requestTimeout().toNanos();
		List<Classifications> results = new ArrayList<>(futures.size());
		try {
			for (CompletableFuture<Classifications> future : futures) {
				results.add(future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
			}
			return results;
		}
		catch (TimeoutException ex) {
			throw busy("Predictions of model " + modelId + " took longer than "
					+ this.properties.requestTimeout().toSeconds() + " s");
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw busy("Interrupted while waiting for predictions");
		}
		catch (ExecutionException ex) {
			if (ex.getCause() instanceof ModelClosedException) {
				throw busy("Model " + modelId + " was unloaded while the request waited");
			}
			throw new IllegalStateException("Prediction failed on model " + modelId, ex.getCause());
		}
	}

	private ApiException busy(String detail) {
		long seconds = Math.max(1, (long) Math.ceil(this.properties.retryAfter().toMillis() / 1000.0));
		return new ApiException(ProblemType.SERVICE_BUSY, detail).withHeader(HttpHeaders.RETRY_AFTER,
				Long.toString(seconds));
	}

	private static ApiException invalid(String field, String message) {
		return new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
				List.of(Map.of("field", field, "message", message)));
	}

	private static String name(MultipartFile file, int index) {
		String name = file.getOriginalFilename();
		return (name != null && !name.isBlank()) ? name : "image-" + (index + 1);
	}

}
