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
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import ai.djl.modality.Classifications;
import com.acme.finetune.inference.ImageDecoder.InvalidImageException;
import com.acme.finetune.inference.ModelBatcher.ModelClosedException;
import com.acme.finetune.inference.ModelBatcher.QueueFullException;
import com.acme.finetune.inference.ModelRegistry.LoadedModel;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Service;
import org.springframework.web.multipart.MultipartFile;

/**
 * Decodes the uploaded images and runs them through the model's batching queue, with the
 * work of every request bounded before it starts: its bytes, the pixels its images
 * declare, the heap its decoded images may hold ({@link ImageMemory}), and how many
 * images are decoded at once.
 */
@Service
class PredictionService {

	/**
	 * Loads tried when the model keeps being evicted under the request (cache thrash).
	 */
	private static final int ATTEMPTS = 3;

	/** Heap bytes per decoded pixel assumed before decoding (8-bit RGB(A) images). */
	static final int BYTES_PER_PIXEL = 4;

	private static final Logger log = LoggerFactory.getLogger(PredictionService.class);

	private final ModelRegistry registry;

	private final InferenceProperties properties;

	private final InferenceMetrics metrics;

	private final ImageDecoder decoder;

	private final ImageMemory memory;

	private final Semaphore decoding;

	PredictionService(ModelRegistry registry, InferenceProperties properties, InferenceMetrics metrics) {
		this.registry = registry;
		this.properties = properties;
		this.metrics = metrics;
		this.decoder = new ImageDecoder(properties.maxImagePixels());
		this.memory = new ImageMemory(properties.maxImageMemory().toBytes());
		this.decoding = new Semaphore(properties.effectiveDecodeThreads(), true);
		metrics.imageMemory(this.memory::used);
	}

	PredictionResponse predict(UUID modelId, List<MultipartFile> files, Integer topK) {
		long start = System.nanoTime();
		long deadline = start + this.properties.requestTimeout().toNanos();
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
		long bytes = files.stream().mapToLong(MultipartFile::getSize).sum();
		if (bytes > this.properties.maxRequestSize().toBytes()) {
			throw tooLarge("The images add up to " + bytes + " bytes, over the limit of "
					+ this.properties.maxRequestSize().toBytes() + " bytes per request");
		}
		// the model first: an unknown model is a 404 whatever the images are
		LoadedModel model = this.registry.acquire(modelId);
		int k = Math.min((topK != null) ? topK : 5, model.labels().size());
		List<Classifications> results;
		// in flight from here to the reply: what the batcher sizes its batches by
		try (ModelBatcher.Arrival arrival = model.batcher().announce()) {
			List<ImageDecoder.Plan> plans = plan(files, model.resizeShorter());
			long estimate = plans.stream().mapToLong((p) -> p.pixels() * BYTES_PER_PIXEL).sum();
			if (estimate > this.memory.capacity()) {
				throw tooLarge("Decoded for this model the images need " + (estimate >> 20) + " MB, more than the "
						+ (this.memory.capacity() >> 20)
						+ " MB that predictions may hold at once; send fewer images per request");
			}
			ImageMemory.Reservation reservation = this.memory.tryReserve(estimate);
			if (reservation == null) {
				throw busy("The images waiting for predictions fill the memory set aside for them");
			}
			List<CompletableFuture<Classifications>> futures = null;
			try {
				List<BufferedImage> images = decode(files, model.resizeShorter(), deadline);
				reservation.adjust(images.stream().mapToLong(ImageDecoder::bytes).sum());
				futures = submit(modelId, model, images);
			}
			finally {
				if (futures == null) {
					reservation.close();
				}
				else {
					// held until the last forward pass is over, even if this request
					// times out
					CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
						.whenComplete((done, failure) -> reservation.close());
				}
			}
			results = await(modelId, futures, deadline);
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
		return new PredictionResponse(modelId, predictions, TimeUnit.NANOSECONDS.toMillis(nanos),
				model.precision().precision());
	}

	/** The heap budget of decoded images (for tests and metrics). */
	ImageMemory imageMemory() {
		return this.memory;
	}

	/**
	 * Reads every image's header (nothing is decoded yet): formats, sizes and the pixels
	 * the request declares in total are checked before any decoding work.
	 */
	List<ImageDecoder.Plan> plan(List<MultipartFile> files, int resizeShorter) {
		List<ImageDecoder.Plan> plans = new ArrayList<>(files.size());
		long pixels = 0;
		for (int i = 0; i < files.size(); i++) {
			MultipartFile file = files.get(i);
			String name = name(file, i);
			try (InputStream in = file.getInputStream()) {
				ImageDecoder.Header header = this.decoder.probe(name, in);
				pixels += header.pixels();
				plans.add(header.plan(resizeShorter));
			}
			catch (InvalidImageException ex) {
				throw invalidImage(ex, name);
			}
			catch (IOException ex) {
				throw new ApiException(ProblemType.MALFORMED_REQUEST, "Image '" + name + "' could not be read");
			}
		}
		if (pixels > this.properties.maxRequestPixels()) {
			throw tooLarge("The images declare " + pixels + " pixels in total, over the limit of "
					+ this.properties.maxRequestPixels() + " per request; send fewer or smaller images");
		}
		return plans;
	}

	List<BufferedImage> decode(List<MultipartFile> files, int resizeShorter, long deadline) {
		List<BufferedImage> images = new ArrayList<>(files.size());
		for (int i = 0; i < files.size(); i++) {
			MultipartFile file = files.get(i);
			String name = name(file, i);
			acquireDecoder(deadline);
			try (InputStream in = file.getInputStream()) {
				images.add(this.decoder.decode(name, in, resizeShorter));
			}
			catch (InvalidImageException ex) {
				throw invalidImage(ex, name);
			}
			catch (IOException ex) {
				throw new ApiException(ProblemType.MALFORMED_REQUEST, "Image '" + name + "' could not be read");
			}
			catch (OutOfMemoryError ex) {
				// only if the bounds above were set larger than the heap: this request's
				// images are dropped with it, other requests go on
				log.warn("Out of memory decoding image '{}' ({} bytes)", name, file.getSize());
				throw new ApiException(ProblemType.INSUFFICIENT_STORAGE,
						"Not enough memory to decode image '" + name + "' now; retry later or send smaller images")
					.withHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds()));
			}
			finally {
				this.decoding.release();
			}
		}
		return images;
	}

	private void acquireDecoder(long deadline) {
		try {
			if (!this.decoding.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
				throw busy("Images waited longer than " + this.properties.requestTimeout().toSeconds()
						+ " s to be decoded");
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw busy("Interrupted while waiting to decode images");
		}
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

	private List<Classifications> await(UUID modelId, List<CompletableFuture<Classifications>> futures, long deadline) {
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
			if (ex.getCause() instanceof OutOfMemoryError || outOfNativeMemory(ex.getCause())) {
				throw new ApiException(ProblemType.INSUFFICIENT_STORAGE,
						"Not enough memory for the forward pass of model " + modelId + " now; retry later")
					.withHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds()));
			}
			throw new IllegalStateException("Prediction failed on model " + modelId, ex.getCause());
		}
	}

	ApiException busy(String detail) {
		return new ApiException(ProblemType.SERVICE_BUSY, detail).withHeader(HttpHeaders.RETRY_AFTER,
				Long.toString(retryAfterSeconds()));
	}

	long retryAfterSeconds() {
		return Math.max(1, (long) Math.ceil(this.properties.retryAfter().toMillis() / 1000.0));
	}

	/** PyTorch's allocator failing (its message), which reaches us as an engine error. */
	static boolean outOfNativeMemory(Throwable ex) {
		for (Throwable t = ex; t != null; t = (t.getCause() != t) ? t.getCause() : null) {
			String message = (t.getMessage() != null) ? t.getMessage().toLowerCase(java.util.Locale.ROOT) : "";
			if (message.contains("not enough memory") || message.contains("out of memory")) {
				return true;
			}
		}
		return false;
	}

	static ApiException tooLarge(String detail) {
		return new ApiException(ProblemType.PAYLOAD_TOO_LARGE, detail);
	}

	private static ApiException invalidImage(InvalidImageException ex, String name) {
		return new ApiException(ex.type(), "Image '" + name + "': " + ex.getMessage()).with("errors",
				List.of(Map.of("file", name, "reason", ex.getMessage())));
	}

	static ApiException invalid(String field, String message) {
		return new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
				List.of(Map.of("field", field, "message", message)));
	}

	private static String name(MultipartFile file, int index) {
		String name = file.getOriginalFilename();
		return (name != null && !name.isBlank()) ? name : "image-" + (index + 1);
	}

}
