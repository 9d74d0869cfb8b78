package com.acme.finetune.job;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.job.JobRunner.Outcome;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.registry.Registration;
import com.acme.finetune.registry.RegisteredModels;
import com.acme.finetune.tracing.Traces;
import com.acme.finetune.training.TrainingResult;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A job's state machine on the worker side: claims a queued job, runs an attempt, and
 * records where it ended. A job that lost its process or worker goes back to the queue
 * ({@code attempts + 1}) until {@code maxAttempts}, then FAILED; it is never left
 * RUNNING: an attempt whose outcome could not be recorded is recovered by the retry of
 * its execution, and a job left without an execution is queued again by the periodic
 * sweep.
 */
@Component
class JobExecutor implements JobWork {

	private static final Logger log = LoggerFactory.getLogger(JobExecutor.class);

	private final JobRepository jobs;

	private final JobEpochRepository epochs;

	private final JobEvents events;

	private final JobRunner runner;

	private final ModelCatalog models;

	private final JobProperties properties;

	private final JobMetrics metrics;

	private final JobQueue queue;

	private final ObjectMapper json;

	private final TransactionTemplate transaction;

	private final DatasetService datasets;

	private final RegisteredModels registry;

	private final JobCheckpoints checkpoints;

	private final ObjectProvider<EpochGate> gate;

	private final Traces traces;

	JobExecutor(JobRepository jobs, JobEpochRepository epochs, JobEvents events, JobRunner runner, ModelCatalog models,
			JobProperties properties, JobMetrics metrics, JobQueue queue, ObjectMapper json,
			TransactionTemplate transaction, DatasetService datasets, RegisteredModels registry,
			JobCheckpoints checkpoints, ObjectProvider<EpochGate> gate, Traces traces) {
		this.gate = gate;
		this.traces = traces;
		this.transaction = transaction;
		this.datasets = datasets;
		this.registry = registry;
		this.checkpoints = checkpoints;
		this.jobs = jobs;
		this.epochs = epochs;
		this.events = events;
		this.runner = runner;
		this.models = models;
		this.properties = properties;
		this.metrics = metrics;
		this.queue = queue;
		this.json = json;
	}

	/**
	 * Runs one attempt in a span of its own ({@code job attempt}, a new trace), which the
	 * training process's epochs and the job's callback delivery continue.
	 */
	@Override
	public boolean execute(UUID jobId, String node, BooleanSupplier shuttingDown) {
		MDC.put("jobId", jobId.toString());
		Span attempt = this.traces.start("job attempt", null).tag("job.id", jobId.toString()).tag("node", node);
		try (Tracer.SpanInScope scope = this.traces.inScope(attempt)) {
			JobEntity job = claim(jobId, node);
			if (job == null) {
				attempt.tag("outcome", "dropped");
				return false;
			}
			attempt.tag("attempt", Integer.toString(job.attempts));
			JobSpec spec = this.json.readValue(job.spec, JobSpec.class);
			long started = System.nanoTime();
			Outcome outcome;
			try {
				status(job.id, JobStatus.RUNNING, Map.of("attempt", job.attempts, "node", node));
				log.info("Job {} started on {} (attempt {}/{})", jobId, node, job.attempts,
						this.properties.maxAttempts());
				outcome = this.runner.run(job, spec, shuttingDown, attempt);
			}
			catch (RuntimeException ex) {
				log.error("Job {} failed in the worker", jobId, ex);
				outcome = new Outcome.Failed("The worker could not run the job: " + ex.getMessage(),
						ex.getClass().getName());
			}
			attempt.tag("outcome", outcome.getClass().getSimpleName().toLowerCase(Locale.ROOT));
			if (outcome instanceof Outcome.Failed failed) {
				attempt.error(new IllegalStateException(failed.message()));
			}
			// Recording the outcome is not caught: when it fails (a database blip) or an
			// Error escapes, this execution fails, the queue runs it again, and claim()
			// finds the job RUNNING under its own execution and recovers it.
			return record(job, spec, outcome, System.nanoTime() - started);
		}
		catch (RuntimeException | Error ex) {
			attempt.error(ex);
			throw ex;
		}
		finally {
			attempt.end();
			MDC.remove("jobId");
		}
	}

	/**
	 * Claims the job for this attempt: a QUEUED job becomes RUNNING here; a job already
	 * RUNNING is recovered. The queue hands a job's one execution to one worker at a
	 * time, so a RUNNING job met here lost its previous attempt without a recorded
	 * outcome (its end failed, or an Error escaped): it ends SUCCEEDED when that attempt
	 * had registered its model, CANCELLED or FAILED when cancel was asked or attempts are
	 * used up, and otherwise runs again. Null when there is nothing to run.
	 */
	private JobEntity claim(UUID jobId, String node) {
		if (this.jobs.claim(jobId, node, Instant.now()) == 0) {
			JobEntity current = this.jobs.findById(jobId).orElse(null);
			if (current == null || current.status != JobStatus.RUNNING) {
				log.info("Job {} is no longer queued; dropping its execution", jobId);
				return null;
			}
			log.warn("Job {} is RUNNING but its attempt {} on {} ended without recording an outcome; recovering it",
					jobId, current.attempts, current.node);
			if (!handBack(jobId,
					"Attempt " + current.attempts + " on " + current.node + " ended without recording its outcome",
					"AttemptLost") || this.jobs.claim(jobId, node, Instant.now()) == 0) {
				return null;
			}
		}
		return this.jobs.findById(jobId).orElseThrow();
	}

	/**
	 * Records where an attempt ended.
	 * @return whether the job went back to the queue
	 */
	private boolean record(JobEntity job, JobSpec spec, Outcome outcome, long nanos) {
		if (outcome instanceof Outcome.Succeeded succeeded) {
			JobStatus status = succeeded.stoppedEarly() ? JobStatus.STOPPED_EARLY : JobStatus.SUCCEEDED;
			succeed(job, spec, succeeded.result(), status);
			this.metrics.finished(status, nanos);
			return false;
		}
		if (outcome instanceof Outcome.Failed failed) {
			end(job.id, JobStatus.FAILED, failed.message(), failed.type());
			this.metrics.finished(JobStatus.FAILED, nanos);
			return false;
		}
		if (outcome instanceof Outcome.Cancelled) {
			end(job.id, JobStatus.CANCELLED, null, null);
			this.metrics.finished(JobStatus.CANCELLED, nanos);
			return false;
		}
		Outcome.Interrupted interrupted = (Outcome.Interrupted) outcome;
		return handBack(job.id, interrupted.message(), interrupted.type());
	}

	@Override
	public boolean workerDied(UUID jobId) {
		JobEntity job = this.jobs.findById(jobId).orElse(null);
		if (job == null || job.status.isTerminal()) {
			return false;
		}
		if (job.status == JobStatus.QUEUED) {
			return true;
		}
		log.warn("Job {}: worker {} stopped responding", jobId, job.node);
		return handBack(jobId, "The worker node " + job.node + " stopped responding", "WorkerLost");
	}

	@Override
	public void reviveOrphans() {
		Instant before = Instant.now().minus(JobQueue.leaseTimeout(this.properties));
		for (UUID jobId : this.jobs.findActiveWithoutExecution(before)) {
			if (this.queue.enqueueIfAbsent(jobId)) {
				log.warn("Job {} was active with no execution in the queue; queued it again", jobId);
			}
		}
	}

	/** Cancels a job that no worker has started; false when it is no longer queued. */
	boolean cancelQueued(UUID jobId) {
		Boolean cancelled = this.transaction.execute((tx) -> {
			if (this.jobs.end(jobId, JobStatus.CANCELLED, null, null, Instant.now(), List.of(JobStatus.QUEUED)) == 0) {
				return false;
			}
			terminal(jobId, JobStatus.CANCELLED, Map.of());
			return true;
		});
		if (Boolean.TRUE.equals(cancelled)) {
			this.queue.dequeue(jobId);
		}
		return Boolean.TRUE.equals(cancelled);
	}

	/**
	 * Requeues an interrupted job, or ends it: SUCCEEDED when the attempt registered its
	 * model before it was cut off, CANCELLED when cancel was asked, FAILED when out of
	 * attempts.
	 * @return whether the job is QUEUED again
	 */
	private boolean handBack(UUID jobId, String message, String type) {
		JobEntity job = this.jobs.findById(jobId).orElse(null);
		if (job == null || job.status != JobStatus.RUNNING) {
			return false;
		}
		Optional<ModelView> model = this.models.findByJob(jobId);
		if (model.isPresent()) {
			log.warn("Job {} had registered model {} before its attempt was cut off; it succeeded", jobId,
					model.get().id());
			Map<String, Object> finalMetrics = new LinkedHashMap<>();
			finalMetrics.put("perClass", model.get().metrics().get("perClass"));
			finalMetrics.put("confusionMatrix", model.get().metrics().get("confusionMatrix"));
			recordSuccess(jobId, gate().stopped(jobId) ? JobStatus.STOPPED_EARLY : JobStatus.SUCCEEDED,
					Map.of("modelId", model.get().id()), finalMetrics);
			return false;
		}
		if (job.cancelRequested) {
			end(jobId, JobStatus.CANCELLED, null, null);
			return false;
		}
		if (job.attempts - job.attemptsBeforeResume >= this.properties.maxAttempts()) {
			end(jobId, JobStatus.FAILED, message + "; giving up after " + job.attempts + " attempt(s)", type);
			return false;
		}
		Boolean requeued = this.transaction.execute((tx) -> {
			if (this.jobs.requeue(jobId, message, type, Instant.now()) == 0) {
				return false;
			}
			status(jobId, JobStatus.QUEUED, Map.of("attempt", job.attempts, "reason", message));
			return true;
		});
		if (Boolean.TRUE.equals(requeued)) {
			log.warn("Job {} back in the queue after attempt {}: {}", jobId, job.attempts, message);
		}
		return Boolean.TRUE.equals(requeued);
	}

	private void succeed(JobEntity job, JobSpec spec, TrainingResult result, JobStatus status) {
		Map<String, Object> confusion = new LinkedHashMap<>();
		confusion.put("labels", result.labels());
		confusion.put("matrix", result.confusionMatrix());
		Map<String, Object> finalMetrics = new LinkedHashMap<>();
		finalMetrics.put("perClass", result.perClass());
		finalMetrics.put("confusionMatrix", confusion);
		finalMetrics.put("trainingPrecision", result.precision());
		double valAccuracy = result.epochs()
			.stream()
			.filter((e) -> e.epoch() == result.bestEpoch())
			.findFirst()
			.map((e) -> e.valAccuracy())
			.orElse(Double.NaN);
		Map<String, Object> modelMetrics = new LinkedHashMap<>();
		modelMetrics.put("valAccuracy", Double.isNaN(valAccuracy) ? null : valAccuracy);
		modelMetrics.put("bestEpoch", result.bestEpoch());
		modelMetrics.putAll(finalMetrics);
		ModelView model = this.models
			.register(new NewModel(job.id, "job-" + job.id.toString().substring(0, 8), result.labels(),
					spec.baseModel(), Map.of("upTo", spec.freeze().upTo(), "batchNorm", spec.freeze().batchNorm()),
					spec.hyperparameters().imageSize(), modelMetrics, result.parameters().total(),
					result.parameters().trainable(), result.modelDir(), lineage(job, spec)));
		Map<String, Object> done = new LinkedHashMap<>();
		done.put("modelId", model.id());
		// before the job reads SUCCEEDED: a client that sees it finds the new version
		if (spec.register() != null) {
			done.putAll(register(job.id, spec.register(), model.id()));
		}
		recordSuccess(job.id, status, done, finalMetrics);
		// the model holds the result: nothing to resume any more
		this.checkpoints.delete(job.id);
	}

	/**
	 * The job's end, its events and its callback in one transaction: all of them or, when
	 * the database fails, none, and the job stays RUNNING for claim() to recover.
	 * @param done what the final status event says: the model's id and its registration
	 */
	private void recordSuccess(UUID jobId, JobStatus status, Map<String, Object> done,
			Map<String, Object> finalMetrics) {
		UUID modelId = (UUID) done.get("modelId");
		this.transaction.executeWithoutResult((tx) -> {
			if (this.jobs.succeed(jobId, status, modelId, this.json.writeValueAsString(finalMetrics),
					Instant.now()) == 0) {
				log.warn("Job {} finished training but was no longer RUNNING", jobId);
				return;
			}
			terminal(jobId, status, done);
		});
	}

	private NewModel.Lineage lineage(JobEntity job, JobSpec spec) {
		String sha256 = null;
		try {
			sha256 = this.datasets.find(job.datasetId).sha256();
		}
		catch (RuntimeException ex) {
			log.warn("Job {}: the digest of dataset {} is unknown ({})", job.id, job.datasetId, ex.getMessage());
		}
		return new NewModel.Lineage(job.datasetId, sha256, spec.baseModel(), job.spec);
	}

	/**
	 * Registers the model as the spec asks. The model exists whatever happens here: a
	 * registration that fails leaves the job SUCCEEDED, says why in its final events, and
	 * can be repeated with {@code POST /registered-models/{name}/versions}.
	 */
	private Map<String, Object> register(UUID jobId, Registration registration, UUID modelId) {
		try {
			int version = this.registry.register(registration, modelId, "job", "job:" + jobId).version();
			log.info("Job {}: model {} registered as {} version {}", jobId, modelId, registration.name(), version);
			return Map.of("registered",
					Map.of("name", registration.name(), "version", version, "aliases", registration.aliases()));
		}
		catch (RuntimeException ex) {
			log.error("Job {}: model {} could not be registered as {}", jobId, modelId, registration.name(), ex);
			return Map.of("registrationError",
					"The model could not be registered as " + registration.name() + ": " + ex.getMessage());
		}
	}

	private EpochGate gate() {
		return this.gate.getIfAvailable(() -> EpochGate.NONE);
	}

	private void end(UUID jobId, JobStatus status, String message, String type) {
		this.transaction.executeWithoutResult((tx) -> {
			if (this.jobs.end(jobId, status, message, type, Instant.now(), List.of(JobStatus.RUNNING)) == 0) {
				return;
			}
			Map<String, Object> data = new LinkedHashMap<>();
			if (message != null) {
				data.put("error", Map.of("message", message, "type", (type != null) ? type : "Error"));
			}
			terminal(jobId, status, data);
		});
	}

	private void terminal(UUID jobId, JobStatus status, Map<String, Object> extra) {
		status(jobId, status, extra);
		Map<String, Object> done = new LinkedHashMap<>(extra);
		done.put("status", status);
		this.events.append(jobId, JobEvents.DONE, done);
		this.jobs.findById(jobId)
			.filter((job) -> this.json.readValue(job.spec, JobSpec.class).callbackUrl() != null)
			.ifPresent((job) -> this.queue.enqueueCallback(jobId, status.name(), this.traces.currentTraceparent()));
		log.info("Job {} {}", jobId, status);
	}

	private void status(UUID jobId, JobStatus status, Map<String, ?> extra) {
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("status", status);
		data.putAll(extra);
		this.events.append(jobId, JobEvents.STATUS, data);
	}

}
