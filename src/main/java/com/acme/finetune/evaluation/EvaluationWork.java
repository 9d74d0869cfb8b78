package com.acme.finetune.evaluation;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import javax.imageio.ImageIO;

import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.inference.BulkInference;
import com.acme.finetune.job.JobProperties;
import com.acme.finetune.job.QueuedWork;
import com.acme.finetune.registry.RegisteredModels;
import com.acme.finetune.web.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

/**
 * Runs an evaluation on a worker: resolves the alias (when asked by alias), scores every
 * image of the dataset's split in large batches, and stores the numbers and the mistake
 * thumbnails. An evaluation has no side effects, so a lost attempt simply runs again, up
 * to the jobs' {@code maxAttempts}.
 */
@Component
class EvaluationWork implements QueuedWork {

	private static final Logger log = LoggerFactory.getLogger(EvaluationWork.class);

	private static final long PROGRESS_MILLIS = 1000;

	private final EvaluationStore store;

	private final DatasetService datasets;

	private final RegisteredModels registry;

	private final BulkInference inference;

	private final EvaluationProperties properties;

	private final JobProperties jobs;

	private final EvaluationMetricsRecorder metrics;

	private final ObjectMapper json;

	EvaluationWork(EvaluationStore store, DatasetService datasets, RegisteredModels registry, BulkInference inference,
			EvaluationProperties properties, JobProperties jobs, EvaluationMetricsRecorder metrics, ObjectMapper json) {
		this.store = store;
		this.datasets = datasets;
		this.registry = registry;
		this.inference = inference;
		this.properties = properties;
		this.jobs = jobs;
		this.metrics = metrics;
		this.json = json;
	}

	@Override
	public String kind() {
		return Evaluations.KIND;
	}

	@Override
	public boolean execute(UUID id, String node, BooleanSupplier shuttingDown) {
		MDC.put("evaluationId", id.toString());
		try {
			EvaluationStore.Row before = this.store.find(id).orElse(null);
			if (before == null || before.status().isTerminal()) {
				return false;
			}
			if (before.attempts() >= this.jobs.maxAttempts()) {
				fail(id, "Evaluation gave up after " + before.attempts() + " attempt(s)");
				return false;
			}
			if (this.store.claim(id, node) == 0) {
				return false;
			}
			EvaluationStore.Row row = this.store.find(id).orElseThrow();
			long started = System.nanoTime();
			try {
				Boolean done = run(row, shuttingDown);
				if (done == null) {
					this.store.requeue(id);
					return true;
				}
				this.metrics.finished(done ? WorkStatus.SUCCEEDED : WorkStatus.FAILED, System.nanoTime() - started);
			}
			catch (ApiException ex) {
				fail(id, ex.getMessage());
				this.metrics.finished(WorkStatus.FAILED, System.nanoTime() - started);
			}
			catch (IOException | RuntimeException ex) {
				log.error("Evaluation {} failed", id, ex);
				fail(id, "The evaluation could not run: " + ex.getMessage());
				this.metrics.finished(WorkStatus.FAILED, System.nanoTime() - started);
			}
			return false;
		}
		finally {
			MDC.remove("evaluationId");
		}
	}

	/**
	 * True when it succeeded, false when it failed, null when the worker is stopping
	 * (requeue).
	 */
	private Boolean run(EvaluationStore.Row row, BooleanSupplier shuttingDown) throws IOException {
		UUID modelId = row.modelId();
		if (row.registeredName() != null) {
			RegisteredModels.Target target = this.registry.resolveAlias(row.registeredName(), row.alias());
			modelId = target.modelId();
			this.store.resolved(row.id(), modelId, target.version());
			log.info("Evaluation {}: alias {}@{} is version {} (model {})", row.id(), row.registeredName(), row.alias(),
					target.version(), modelId);
		}
		List<DatasetService.LabelledImage> images = this.datasets.labelledImages(row.datasetId())
			.stream()
			.filter((i) -> "all".equals(row.split()) || i.validation())
			.toList();
		try (BulkInference.Session session = this.inference.open(modelId)) {
			List<String> labels = session.labels();
			Map<String, Integer> index = new HashMap<>();
			for (int i = 0; i < labels.size(); i++) {
				index.put(labels.get(i), i);
			}
			List<String> unknown = images.stream()
				.map(DatasetService.LabelledImage::label)
				.filter((l) -> !index.containsKey(l))
				.distinct()
				.sorted()
				.toList();
			if (!unknown.isEmpty()) {
				fail(row.id(), "Model " + modelId + " does not know the label(s) " + String.join(", ", unknown));
				return false;
			}
			List<EvaluationMetrics.Scored> scored = new ArrayList<>(images.size());
			List<EvaluationMetrics.Failed> failed = new ArrayList<>();
			Map<String, Path> files = new HashMap<>();
			long lastProgress = 0;
			int batch = this.properties.batchSize();
			for (int from = 0; from < images.size(); from += batch) {
				if (shuttingDown.getAsBoolean()) {
					log.info("Evaluation {}: worker stopping after {} image(s); back to the queue", row.id(), from);
					return null;
				}
				List<DatasetService.LabelledImage> chunk = images.subList(from, Math.min(images.size(), from + batch));
				List<BulkInference.Input> inputs = chunk.stream()
					.map((i) -> new BulkInference.Input(i.path(), i.file()))
					.toList();
				List<BulkInference.Result> results = session.classify(inputs);
				for (int i = 0; i < results.size(); i++) {
					BulkInference.Result r = results.get(i);
					if (r.failed()) {
						failed.add(new EvaluationMetrics.Failed(r.name(), r.error()));
					}
					else {
						scored.add(new EvaluationMetrics.Scored(r.name(), index.get(chunk.get(i).label()),
								r.probabilities()));
						files.put(r.name(), chunk.get(i).file());
					}
				}
				this.metrics.images(results.size());
				if (System.currentTimeMillis() - lastProgress > PROGRESS_MILLIS) {
					this.store.progress(row.id(), from + chunk.size(), images.size());
					lastProgress = System.currentTimeMillis();
				}
			}
			EvaluationMetrics.Result result = EvaluationMetrics.compute(labels, scored, failed,
					this.properties.calibrationBins(), this.properties.maxMistakes(), session.precision().precision());
			Map<String, String> thumbnails = new LinkedHashMap<>();
			for (EvaluationMetrics.Mistake mistake : result.mistakes()) {
				String uri = thumbnail(files.get(mistake.file()), this.properties.thumbnailSize());
				if (uri != null) {
					thumbnails.put(mistake.file(), uri);
				}
			}
			if (this.store.succeed(row.id(), this.json.writeValueAsString(result),
					this.json.writeValueAsString(thumbnails), images.size()) == 0) {
				log.warn("Evaluation {} finished but was no longer RUNNING", row.id());
			}
			log.info("Evaluation {} of model {}: {} images, accuracy {}", row.id(), modelId, result.images(),
					result.accuracy());
			return true;
		}
	}

	/** A small JPEG of the image as a data URI, or null when it cannot be read. */
	static String thumbnail(Path file, int size) {
		if (file == null) {
			return null;
		}
		try {
			BufferedImage image = ImageIO.read(file.toFile());
			if (image == null) {
				return null;
			}
			double scale = Math.min(1.0, (double) size / Math.max(image.getWidth(), image.getHeight()));
			int w = Math.max(1, (int) Math.round(image.getWidth() * scale));
			int h = Math.max(1, (int) Math.round(image.getHeight() * scale));
			BufferedImage small = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
			Graphics2D g = small.createGraphics();
			g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
			g.drawImage(image, 0, 0, w, h, null);
			g.dispose();
			ByteArrayOutputStream out = new ByteArrayOutputStream();
			ImageIO.write(small, "jpeg", out);
			return "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(out.toByteArray());
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

	private void fail(UUID id, String message) {
		this.store.fail(id, message);
		log.info("Evaluation {} FAILED: {}", id, message);
	}

	@Override
	public boolean workerDied(UUID id) {
		EvaluationStore.Row row = this.store.find(id).orElse(null);
		if (row == null || row.status().isTerminal()) {
			return false;
		}
		if (row.status() == WorkStatus.RUNNING && row.attempts() >= this.jobs.maxAttempts()) {
			fail(id, "The worker node " + row.node() + " stopped responding; giving up after " + row.attempts()
					+ " attempt(s)");
			return false;
		}
		log.warn("Evaluation {}: worker {} stopped responding; back to the queue", id, row.node());
		this.store.requeue(id);
		return true;
	}

	@Override
	public List<UUID> activeSince(Instant before) {
		return this.store.activeSince(before);
	}

}
