package com.acme.finetune.evaluation;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.acme.finetune.inference.BulkInference;
import com.acme.finetune.job.JobProperties;
import com.acme.finetune.job.QueuedWork;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

/**
 * Runs a batch prediction on a worker: classifies the manifest's files in batches of
 * {@code app.evaluations.batch-size} with the serving preprocessing, writing one line per
 * file ({@code {file, top}} or {@code {file, error}}: an undecodable file never fails the
 * batch), progress at most once a second, and the results file at the end. A lost attempt
 * starts over (the results of an attempt are only published when it ends).
 */
@Component
class BatchPredictionWork implements QueuedWork {

	private static final Logger log = LoggerFactory.getLogger(BatchPredictionWork.class);

	private static final long PROGRESS_MILLIS = 1000;

	private final BatchPredictionStore store;

	private final BatchPredictions batches;

	private final BulkInference inference;

	private final ArtifactStore artifacts;

	private final EvaluationProperties properties;

	private final JobProperties jobs;

	private final BatchPredictionMetrics metrics;

	private final ObjectMapper json;

	BatchPredictionWork(BatchPredictionStore store, BatchPredictions batches, BulkInference inference,
			ArtifactStore artifacts, EvaluationProperties properties, JobProperties jobs,
			BatchPredictionMetrics metrics, ObjectMapper json) {
		this.store = store;
		this.batches = batches;
		this.inference = inference;
		this.artifacts = artifacts;
		this.properties = properties;
		this.jobs = jobs;
		this.metrics = metrics;
		this.json = json;
	}

	@Override
	public String kind() {
		return BatchPredictions.KIND;
	}

	record Line(String file, List<Label> top, String error) {
	}

	record Label(String label, double probability) {
	}

	@Override
	public boolean execute(UUID id, String node, BooleanSupplier shuttingDown) {
		MDC.put("batchPredictionId", id.toString());
		try {
			BatchPredictionStore.Row before = this.store.find(id).orElse(null);
			if (before == null || before.status().isTerminal()) {
				return false;
			}
			if (before.attempts() >= this.jobs.maxAttempts()) {
				fail(id, "Batch prediction gave up after " + before.attempts() + " attempt(s)");
				return false;
			}
			if (this.store.claim(id, node) == 0) {
				return false;
			}
			BatchPredictionStore.Row row = this.store.find(id).orElseThrow();
			this.store.append(id, BatchPredictionStore.STATUS,
					Map.of("status", WorkStatus.RUNNING, "attempt", row.attempts(), "node", node));
			long started = System.nanoTime();
			try {
				if (!run(row, shuttingDown)) {
					this.store.requeue(id);
					this.store.append(id, BatchPredictionStore.STATUS,
							Map.of("status", WorkStatus.QUEUED, "reason", "the worker is stopping"));
					return true;
				}
				this.metrics.finished(WorkStatus.SUCCEEDED, System.nanoTime() - started);
			}
			catch (ApiException ex) {
				fail(id, ex.getMessage());
				this.metrics.finished(WorkStatus.FAILED, System.nanoTime() - started);
			}
			catch (IOException | RuntimeException ex) {
				log.error("Batch prediction {} failed", id, ex);
				fail(id, "The batch prediction could not run: " + ex.getMessage());
				this.metrics.finished(WorkStatus.FAILED, System.nanoTime() - started);
			}
			return false;
		}
		finally {
			MDC.remove("batchPredictionId");
		}
	}

	/** True when it succeeded, false when the worker is stopping. */
	private boolean run(BatchPredictionStore.Row row, BooleanSupplier shuttingDown) throws IOException {
		Path dir = this.batches.dir(row.id());
		List<BatchPredictions.Input> inputs = new ArrayList<>(row.imagesTotal());
		try (BufferedReader in = Files.newBufferedReader(dir.resolve(BatchPredictions.MANIFEST),
				StandardCharsets.UTF_8)) {
			for (String line; (line = in.readLine()) != null;) {
				inputs.add(this.json.readValue(line, BatchPredictions.Input.class));
			}
		}
		Path partial = dir.resolve("results.part");
		long start = System.nanoTime();
		int done = 0;
		int failed = 0;
		String precision;
		try (BulkInference.Session session = this.inference.open(row.modelId());
				Writer out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
			precision = session.precision().precision();
			List<String> labels = session.labels();
			int k = Math.min(row.topK(), labels.size());
			long lastProgress = System.currentTimeMillis();
			int batch = this.properties.batchSize();
			List<BulkInference.Input> pending = new ArrayList<>(batch);
			for (int i = 0; i <= inputs.size(); i++) {
				BatchPredictions.Input input = (i < inputs.size()) ? inputs.get(i) : null;
				if (input != null && input.error() != null) {
					write(out, new Line(input.file(), null, input.error()));
					done++;
					failed++;
				}
				else if (input != null) {
					pending.add(new BulkInference.Input(input.file(), this.artifacts.root().resolve(input.stored())));
				}
				if (pending.size() == batch || (input == null && !pending.isEmpty())) {
					if (shuttingDown.getAsBoolean()) {
						log.info("Batch prediction {}: worker stopping after {} image(s); back to the queue", row.id(),
								done);
						return false;
					}
					for (BulkInference.Result result : session.classify(pending)) {
						if (result.failed()) {
							write(out, new Line(result.name(), null, result.error()));
							failed++;
						}
						else {
							write(out, new Line(result.name(), top(labels, result.probabilities(), k), null));
						}
						done++;
					}
					this.metrics.images(pending.size());
					pending.clear();
				}
				if (System.currentTimeMillis() - lastProgress >= PROGRESS_MILLIS) {
					progress(row, done, failed, rate(done, start));
					lastProgress = System.currentTimeMillis();
				}
			}
		}
		double rate = rate(done, start);
		Files.move(partial, dir.resolve(BatchPredictions.RESULTS), StandardCopyOption.REPLACE_EXISTING,
				StandardCopyOption.ATOMIC_MOVE);
		if (this.store.succeed(row.id(), done, failed, rate) == 0) {
			log.warn("Batch prediction {} finished but was no longer RUNNING", row.id());
			return true;
		}
		this.metrics.throughput(rate);
		Map<String, Object> end = new LinkedHashMap<>();
		end.put("status", WorkStatus.SUCCEEDED);
		end.put("images", done);
		end.put("failed", failed);
		end.put("imagesPerSecond", rate);
		end.put("precision", precision);
		this.store.append(row.id(), BatchPredictionStore.STATUS, end);
		this.store.append(row.id(), BatchPredictionStore.DONE, end);
		log.info("Batch prediction {}: {} image(s), {} failed, {} images/s in {}", row.id(), done, failed, rate,
				precision);
		return true;
	}

	private void progress(BatchPredictionStore.Row row, int done, int failed, double rate) {
		this.store.progress(row.id(), done, failed, rate);
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("images", done);
		data.put("totalImages", row.imagesTotal());
		data.put("failed", failed);
		data.put("percent", (row.imagesTotal() > 0) ? 100.0 * done / row.imagesTotal() : 100.0);
		data.put("imagesPerSecond", rate);
		this.store.append(row.id(), BatchPredictionStore.PROGRESS, data);
	}

	private static double rate(int images, long startNanos) {
		double seconds = (System.nanoTime() - startNanos) / 1e9;
		return (seconds > 0) ? images / seconds : 0;
	}

	static List<Label> top(List<String> labels, double[] probabilities, int k) {
		List<Integer> order = new ArrayList<>(labels.size());
		for (int i = 0; i < labels.size(); i++) {
			order.add(i);
		}
		order.sort((a, b) -> Double.compare(probabilities[b], probabilities[a]));
		List<Label> top = new ArrayList<>(k);
		for (int i = 0; i < k; i++) {
			top.add(new Label(labels.get(order.get(i)), probabilities[order.get(i)]));
		}
		return top;
	}

	private void write(Writer out, Line line) throws IOException {
		Map<String, Object> value = new LinkedHashMap<>();
		value.put("file", line.file());
		if (line.error() != null) {
			value.put("error", line.error());
		}
		else {
			value.put("top", line.top());
		}
		out.write(this.json.writeValueAsString(value));
		out.write('\n');
	}

	private void fail(UUID id, String message) {
		if (this.store.fail(id, message) > 0) {
			Map<String, Object> data = Map.of("status", WorkStatus.FAILED, "error", message);
			this.store.append(id, BatchPredictionStore.STATUS, data);
			this.store.append(id, BatchPredictionStore.DONE, data);
		}
		log.info("Batch prediction {} FAILED: {}", id, message);
	}

	@Override
	public boolean workerDied(UUID id) {
		BatchPredictionStore.Row row = this.store.find(id).orElse(null);
		if (row == null || row.status().isTerminal()) {
			return false;
		}
		if (row.status() == WorkStatus.RUNNING && row.attempts() >= this.jobs.maxAttempts()) {
			fail(id, "The worker node " + row.node() + " stopped responding; giving up after " + row.attempts()
					+ " attempt(s)");
			return false;
		}
		if (this.store.requeue(id) > 0) {
			this.store.append(id, BatchPredictionStore.STATUS, Map.of("status", WorkStatus.QUEUED, "reason",
					"the worker node " + row.node() + " stopped responding"));
		}
		return true;
	}

	@Override
	public List<UUID> activeSince(Instant before) {
		return this.store.activeSince(before);
	}

}
