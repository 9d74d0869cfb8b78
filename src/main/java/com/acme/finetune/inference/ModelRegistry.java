package com.acme.finetune.inference;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelDeleted;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.training.UnsafeTorchScriptException;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The models loaded for serving, like DJL Serving's {@code ModelManager}: one long-lived
 * model per id behind a {@link ModelBatcher}, loaded on first use (one load per model
 * however many requests arrive at once), kept in least-recently-used order and evicted
 * beyond {@code maxLoadedModels} or the memory budget, which closes its native memory.
 */
@Component
class ModelRegistry implements DisposableBean {

	private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);

	private final ModelCatalog catalog;

	private final DjlRuntime runtime;

	private final PrecisionChooser precisions;

	private final InferenceProperties properties;

	private final InferenceMetrics metrics;

	/**
	 * Every load runs on this one thread. PyTorch allocates a model's weights through
	 * glibc malloc, which serves each thread from its own arena and keeps freed memory
	 * there: loads on whichever request thread happened to miss left ~one model of freed
	 * memory stranded per arena (RSS grew ~110 MB per load/evict cycle in
	 * ModelRegistryTests). From one thread, the next load reuses what the evicted model
	 * freed.
	 */
	private final ExecutorService loader = Executors.newSingleThreadExecutor((task) -> {
		Thread thread = new Thread(task, "model-loader");
		thread.setDaemon(true);
		return thread;
	});

	/** Access-ordered: the first entry is the least recently used. Guarded by itself. */
	private final LinkedHashMap<UUID, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);

	ModelRegistry(ModelCatalog catalog, DjlRuntime runtime, PrecisionChooser precisions, InferenceProperties properties,
			InferenceMetrics metrics) {
		this.catalog = catalog;
		this.runtime = runtime;
		this.precisions = precisions;
		this.properties = properties;
		this.metrics = metrics;
		metrics.gauges(() -> loaded().size(), () -> loaded().stream().mapToLong(LoadedModel::bytes).sum(),
				() -> loaded().stream().mapToInt((m) -> m.batcher().depth()).sum());
	}

	/**
	 * The loaded model, loading it if needed.
	 * @throws ApiException 404 if the model does not exist (or its files are gone)
	 */
	LoadedModel acquire(UUID id) {
		Slot slot;
		boolean owner = false;
		synchronized (this.slots) {
			slot = this.slots.get(id);
			if (slot == null) {
				slot = new Slot();
				this.slots.put(id, slot);
				owner = true;
			}
		}
		if (owner) {
			this.metrics.miss();
			Slot loading = slot;
			this.loader.execute(() -> load(id, loading));
		}
		else {
			this.metrics.hit();
		}
		LoadedModel model;
		try {
			model = slot.future.join();
		}
		catch (CompletionException ex) {
			if (ex.getCause() instanceof RuntimeException cause) {
				throw cause;
			}
			throw ex;
		}
		// another replica may have deleted the model: its files are the shared truth
		if (!Files.isRegularFile(model.dir().resolve(ModelArtifact.SERVING_PROPERTIES))) {
			evict(id);
			throw ApiException.notFound("Model", id);
		}
		return model;
	}

	private void load(UUID id, Slot slot) {
		try {
			// a TorchScript backbone only runs here once the sandbox has accepted it
			Path dir = this.catalog.acceptedArtifactDir(id);
			this.runtime.engine();
			long start = System.nanoTime();
			ModelArtifact artifact = ModelArtifact.load(dir, this.properties.device());
			LoadedModel model;
			try {
				ServingPrecision.Decision precision = this.precisions.choose(id, artifact);
				if (this.properties.warmUp()) {
					warmUp(artifact);
				}
				ModelBatcher batcher = new ModelBatcher(id, artifact, this.properties, this.metrics);
				model = new LoadedModel(id, dir, artifact.labels(), artifact.preprocessing().resizeShorter(),
						artifact.weightBytes(), precision, batcher);
				batcher.start();
			}
			catch (RuntimeException | Error ex) {
				artifact.close();
				throw ex;
			}
			log.info("Model {} loaded in {} ms ({} MB of weights)", id, (System.nanoTime() - start) / 1_000_000,
					model.bytes() >> 20);
			slot.future.complete(model);
			boolean stillWanted;
			synchronized (this.slots) {
				stillWanted = this.slots.get(id) == slot;
			}
			if (!stillWanted) {
				// deleted while loading: whoever waits gets a closed model and retries
				model.batcher().close();
				return;
			}
			enforceBounds(id);
		}
		catch (IOException ex) {
			fail(id, slot, new IllegalStateException("Model " + id + " cannot be loaded: " + ex.getMessage(), ex));
		}
		catch (RuntimeException | Error ex) {
			fail(id, slot, refusal(id, ex));
		}
	}

	/** A TorchScript file refused while loading is the model's fault: 422, not 500. */
	private static Throwable refusal(UUID id, Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof InvalidBackboneException invalid) {
				ApiException problem = new ApiException(ProblemType.INVALID_MODEL_FILE,
						"Model " + id + " cannot be loaded: " + invalid.getMessage());
				if (invalid instanceof UnsafeTorchScriptException unsafe) {
					problem.with("refused", unsafe.refused());
				}
				return problem;
			}
		}
		return ex;
	}

	private void fail(UUID id, Slot slot, Throwable ex) {
		synchronized (this.slots) {
			this.slots.remove(id, slot);
		}
		slot.future.completeExceptionally(ex);
	}

	/**
	 * One dummy batch of the largest size, then one single image: PyTorch sets up its
	 * kernels per input shape on first use, which would otherwise land on real requests.
	 */
	private void warmUp(ModelArtifact artifact) {
		int size = artifact.preprocessing().imageSize();
		BufferedImage blank = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
		Graphics2D g = blank.createGraphics();
		g.setColor(Color.GRAY);
		g.fillRect(0, 0, size, size);
		g.dispose();
		try (Predictor<BufferedImage, Classifications> predictor = artifact.newPredictor()) {
			predictor.batchPredict(Collections.nCopies(this.properties.maxBatchSize(), blank));
			if (this.properties.maxBatchSize() > 1) {
				predictor.predict(blank);
			}
		}
		catch (Exception ex) {
			throw new IllegalStateException("Warm-up of " + artifact.dir().getFileName() + " failed", ex);
		}
	}

	/** Evicts least recently used models beyond the count or memory bound. */
	private void enforceBounds(UUID keep) {
		List<LoadedModel> victims = new ArrayList<>();
		synchronized (this.slots) {
			long bytes = 0;
			int count = 0;
			for (Slot s : this.slots.values()) {
				LoadedModel m = s.loaded();
				if (m != null) {
					bytes += m.bytes();
					count++;
				}
			}
			Iterator<Map.Entry<UUID, Slot>> eldestFirst = this.slots.entrySet().iterator();
			while ((count > this.properties.maxLoadedModels() || bytes > this.properties.memoryBudget().toBytes())
					&& eldestFirst.hasNext()) {
				Map.Entry<UUID, Slot> entry = eldestFirst.next();
				LoadedModel m = entry.getValue().loaded();
				if (m == null || entry.getKey().equals(keep)) {
					continue;
				}
				eldestFirst.remove();
				victims.add(m);
				bytes -= m.bytes();
				count--;
			}
		}
		for (LoadedModel victim : victims) {
			log.info("Evicting model {} (least recently used)", victim.id());
			close(victim);
		}
	}

	/** Unloads a model if it is loaded; a load in progress is discarded when it ends. */
	void evict(UUID id) {
		Slot slot;
		synchronized (this.slots) {
			slot = this.slots.remove(id);
		}
		LoadedModel model = (slot != null) ? slot.loaded() : null;
		if (model != null) {
			close(model);
		}
	}

	@EventListener
	void onModelDeleted(ModelDeleted event) {
		evict(event.modelId());
	}

	private void close(LoadedModel model) {
		this.metrics.eviction();
		model.batcher().close();
	}

	List<LoadedModel> loaded() {
		synchronized (this.slots) {
			return this.slots.values().stream().map(Slot::loaded).filter((m) -> m != null).toList();
		}
	}

	@Override
	public void destroy() {
		List<Slot> all;
		synchronized (this.slots) {
			all = new ArrayList<>(this.slots.values());
			this.slots.clear();
		}
		all.stream().map(Slot::loaded).filter((m) -> m != null).forEach((m) -> m.batcher().close());
		this.loader.shutdownNow();
	}

	/** A model being loaded or loaded; all callers share the one future. */
	private static final class Slot {

		final CompletableFuture<LoadedModel> future = new CompletableFuture<>();

		LoadedModel loaded() {
			return (this.future.isDone() && !this.future.isCompletedExceptionally()) ? this.future.join() : null;
		}

	}

	/**
	 * One model in memory.
	 *
	 * @param resizeShorter the shorter side its preprocessing resizes images to: what
	 * images are decoded for
	 * @param bytes the model's weights in memory ({@link ModelArtifact#weightBytes()}):
	 * what counts against the memory budget
	 */
	record LoadedModel(UUID id, Path dir, List<String> labels, int resizeShorter, long bytes,
			ServingPrecision.Decision precision, ModelBatcher batcher) {
	}

}
