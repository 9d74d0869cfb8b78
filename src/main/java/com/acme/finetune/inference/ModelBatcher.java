package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.translate.TranslateException;
import com.acme.finetune.training.artifact.ModelArtifact;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching in front of one loaded model, shaped like DJL Serving's
 * {@code WorkerPool}: a bounded queue of images and worker threads that each own a
 * {@link Predictor} (predictors are not thread-safe). A worker takes one image, adds up
 * to {@code maxBatchSize - 1} more and runs them as one forward pass. How long it waits
 * for more depends on how many requests the model is serving ({@link #announce()}: from
 * receipt to reply): it waits, at most {@code maxDelay}, until its batch holds as many
 * images as there were requests in flight when its previous batch ended, or are in flight
 * now. A lone client therefore never waits, and under load groups of clients that happen
 * to arrive while a batch runs are merged into full batches instead of taking turns in
 * small ones (each forward pass has a large fixed cost on a CPU). DJL's predictor runs
 * every call in its own sub-{@code NDManager} (its {@code PredictorContext}), so the
 * tensors of a step are freed when the step ends.
 *
 * <p>
 * Closing stops intake, lets the workers finish everything already queued, and the last
 * worker to stop closes the model, so no forward pass ever runs on freed native memory.
 */
final class ModelBatcher implements AutoCloseable {

	private static final Logger log = LoggerFactory.getLogger(ModelBatcher.class);

	/** Tells one worker to stop once everything before it is done. */
	private static final Item STOP = new Item(null, null, null, null);

	/** How often a waiting worker looks again for requests it expects. */
	private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

	private final UUID modelId;

	private final ModelArtifact artifact;

	private final int maxBatchSize;

	private final long maxDelayNanos;

	private final int capacity;

	private final InferenceMetrics metrics;

	private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();

	/** Images accepted and not yet taken by a worker: what the capacity bounds. */
	private final AtomicInteger depth = new AtomicInteger();

	/** Requests announced and not yet answered. */
	private final AtomicInteger inFlight = new AtomicInteger();

	/** Images in the forward passes running now (with several workers, others' too). */
	private final AtomicInteger running = new AtomicInteger();

	private final AtomicInteger liveWorkers;

	private final ReadWriteLock intake = new ReentrantReadWriteLock();

	private final List<Thread> workers = new ArrayList<>();

	private boolean closed;

	ModelBatcher(UUID modelId, ModelArtifact artifact, InferenceProperties properties, InferenceMetrics metrics) {
		this.modelId = modelId;
		this.artifact = artifact;
		this.maxBatchSize = properties.maxBatchSize();
		this.maxDelayNanos = properties.maxBatchDelay().toNanos();
		this.capacity = properties.queueCapacity();
		this.metrics = metrics;
		this.liveWorkers = new AtomicInteger(properties.workersPerModel());
		for (int i = 0; i < properties.workersPerModel(); i++) {
			Thread worker = new Thread(this::work, "inference-" + modelId.toString().substring(0, 8) + "-" + i);
			worker.setDaemon(true);
			this.workers.add(worker);
		}
	}

	void start() {
		this.workers.forEach(Thread::start);
	}

	/**
	 * Counts a request for this model as in flight until the returned arrival is closed:
	 * announce on receipt, close once it is answered (or failed).
	 */
	Arrival announce() {
		this.inFlight.incrementAndGet();
		return new Arrival(this.inFlight);
	}

	/**
	 * Queues the images of one request, all or none.
	 * @throws QueueFullException if they do not fit in the queue now
	 * @throws ModelClosedException if the model was evicted meanwhile (load it again)
	 */
	List<CompletableFuture<Classifications>> submit(List<BufferedImage> images)
			throws QueueFullException, ModelClosedException {
		this.intake.readLock().lock();
		try {
			if (this.closed) {
				throw new ModelClosedException();
			}
			if (this.depth.addAndGet(images.size()) > this.capacity) {
				this.depth.addAndGet(-images.size());
				throw new QueueFullException();
			}
			List<CompletableFuture<Classifications>> results = new ArrayList<>(images.size());
			for (BufferedImage image : images) {
				Item item = new Item(image, new CompletableFuture<>(), null, null);
				results.add(item.result());
				this.queue.add(item);
			}
			return results;
		}
		finally {
			this.intake.readLock().unlock();
		}
	}

	/**
	 * Queues work other than a plain prediction (an explanation) to run on a worker
	 * thread with the loaded model: it takes one place in the same bounded queue, runs
	 * between batches, and never while the model is being closed.
	 * @throws QueueFullException if the queue is full now
	 * @throws ModelClosedException if the model was evicted meanwhile (load it again)
	 */
	<T> CompletableFuture<T> submitTask(Function<ModelArtifact, T> work)
			throws QueueFullException, ModelClosedException {
		this.intake.readLock().lock();
		try {
			if (this.closed) {
				throw new ModelClosedException();
			}
			if (this.depth.incrementAndGet() > this.capacity) {
				this.depth.decrementAndGet();
				throw new QueueFullException();
			}
			CompletableFuture<T> result = new CompletableFuture<>();
			this.queue.add(new Item(null, null, () -> {
				try {
					result.complete(work.apply(this.artifact));
				}
				catch (RuntimeException | Error ex) {
					result.completeExceptionally(ex);
				}
			}, result));
			return result;
		}
		finally {
			this.intake.readLock().unlock();
		}
	}

	int depth() {
		return Math.max(0, this.depth.get());
	}

	private void work() {
		try (Predictor<BufferedImage, Classifications> predictor = this.artifact.newPredictor()) {
			boolean stop = false;
			int concurrency = 1;
			while (!stop) {
				Item first = this.queue.take();
				if (first == STOP) {
					break;
				}
				if (first.task() != null) {
					this.depth.decrementAndGet();
					first.task().run();
					continue;
				}
				Item task = null;
				List<Item> batch = new ArrayList<>(this.maxBatchSize);
				batch.add(first);
				long deadline = System.nanoTime() + this.maxDelayNanos;
				while (batch.size() < this.maxBatchSize) {
					Item next = this.queue.poll();
					if (next == null) {
						long remaining = deadline - System.nanoTime();
						// what other workers are running will not come this way
						int expected = Math.max(concurrency, this.inFlight.get()) - this.running.get();
						if (remaining <= 0 || batch.size() >= expected) {
							break;
						}
						next = this.queue.poll(Math.min(remaining, POLL_NANOS), TimeUnit.NANOSECONDS);
						if (next == null) {
							continue;
						}
					}
					if (next == STOP) {
						stop = true;
						break;
					}
					if (next.task() != null) {
						// runs right after this batch
						task = next;
						break;
					}
					batch.add(next);
				}
				this.depth.addAndGet(-batch.size());
				concurrency = run(predictor, batch);
				if (task != null) {
					this.depth.decrementAndGet();
					task.task().run();
				}
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		finally {
			failRemaining();
			if (this.liveWorkers.decrementAndGet() == 0) {
				this.artifact.close();
				log.info("Model {} unloaded", this.modelId);
			}
		}
	}

	/**
	 * Runs one batch; returns the requests in flight as it ended (its own still included,
	 * other workers' running batches not): how many the next batch may expect.
	 */
	private int run(Predictor<BufferedImage, Classifications> predictor, List<Item> batch) {
		List<BufferedImage> images = new ArrayList<>(batch.size());
		batch.forEach((item) -> images.add(item.image()));
		this.running.addAndGet(batch.size());
		try {
			List<Classifications> results = predictor.batchPredict(images);
			this.metrics.batch(batch.size());
			int concurrency = this.inFlight.get() - (this.running.get() - batch.size());
			for (int i = 0; i < batch.size(); i++) {
				batch.get(i).result().complete(results.get(i));
			}
			return concurrency;
		}
		catch (TranslateException | RuntimeException | Error ex) {
			// an Error too (OutOfMemoryError in the tensor conversion): the batch fails,
			// its images are dropped with it and the worker lives on, instead of dying
			// and
			// leaving every later request of this model waiting for its timeout
			log.error("Forward pass of {} images on model {} failed", batch.size(), this.modelId, ex);
			batch.forEach((item) -> item.result().completeExceptionally(ex));
			return 1;
		}
		finally {
			this.running.addAndGet(-batch.size());
		}
	}

	/** Only after an interrupt: nobody would serve what is still queued. */
	private void failRemaining() {
		if (this.liveWorkers.get() > 1) {
			return;
		}
		Item item;
		while ((item = this.queue.poll()) != null) {
			if (item == STOP) {
				continue;
			}
			if (item.task() != null) {
				// the task's own future fails: it runs against a closed model otherwise
				item.taskResult().completeExceptionally(new ModelClosedException());
			}
			else {
				item.result().completeExceptionally(new ModelClosedException());
			}
		}
	}

	/**
	 * Stops intake; queued images are still answered. Returns once every worker has
	 * stopped and the model's native memory is released.
	 */
	@Override
	public void close() {
		this.intake.writeLock().lock();
		try {
			if (this.closed) {
				return;
			}
			this.closed = true;
			this.workers.forEach((w) -> this.queue.add(STOP));
		}
		finally {
			this.intake.writeLock().unlock();
		}
		for (Thread worker : this.workers) {
			if (worker == Thread.currentThread()) {
				continue;
			}
			try {
				worker.join(TimeUnit.MINUTES.toMillis(2));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return;
			}
		}
	}

	/** An image to classify (with its result), or a task ({@link #submitTask}). */
	private record Item(BufferedImage image, CompletableFuture<Classifications> result, Runnable task,
			CompletableFuture<?> taskResult) {
	}

	/** A request in flight; closing it (once) ends the announcement. */
	static final class Arrival implements AutoCloseable {

		private final AtomicInteger inFlight;

		private final AtomicBoolean closed = new AtomicBoolean();

		private Arrival(AtomicInteger inFlight) {
			this.inFlight = inFlight;
		}

		@Override
		public void close() {
			if (this.closed.compareAndSet(false, true)) {
				this.inFlight.decrementAndGet();
			}
		}

	}

	/** The model's queue holds no room for the request now. */
	static final class QueueFullException extends Exception {

		QueueFullException() {
			super("queue full", null, false, false);
		}

	}

	/** The model was unloaded between lookup and submit. */
	static final class ModelClosedException extends Exception {

		ModelClosedException() {
			super("model unloaded", null, false, false);
		}

	}

}
