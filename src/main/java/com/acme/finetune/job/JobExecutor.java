package com.acme.finetune.job;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.acme.finetune.job.JobRunner.Outcome;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.model.NewModel;
import com.acme.finetune.training.TrainingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;

/**
 * A job's state machine on the worker side: claims a queued job, runs an attempt, and
 * records where it ended. A job that lost its process or worker goes back to the queue
 * ({@code attempts + 1}) until {@code maxAttempts}, then FAILED; it is never left
 * RUNNING.
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

	private final JobCheckpoints checkpoints;

	JobExecutor(JobRepository jobs, JobEpochRepository epochs, JobEvents events, JobRunner runner, ModelCatalog models,
			JobProperties properties, JobMetrics metrics, JobQueue queue, ObjectMapper json,
			JobCheckpoints checkpoints) {
		this.jobs = jobs;
		this.epochs = epochs;
		this.events = events;
		this.runner = runner;
		this.models = models;
		this.properties = properties;
		this.metrics = metrics;
		this.queue = queue;
		this.json = json;
		this.checkpoints = checkpoints;
	}

	@Override
	public boolean execute(UUID jobId, String node, BooleanSupplier shuttingDown) {
		MDC.put("jobId", jobId.toString());
		try {
			if (this.jobs.claim(jobId, node, Instant.now()) == 0) {
				log.info("Job {} is no longer queued; dropping its execution", jobId);
				return false;
			}
			JobEntity job = this.jobs.findById(jobId).orElseThrow();
			JobSpec spec = this.json.readValue(job.spec, JobSpec.class);
			status(job.id, JobStatus.RUNNING, Map.of("attempt", job.attempts, "node", node));
			log.info("Job {} started on {} (attempt {}/{})", jobId, node, job.attempts, this.properties.maxAttempts());
			long started = System.nanoTime();
			Outcome outcome = this.runner.run(job, spec, shuttingDown);
			if (outcome instanceof Outcome.Succeeded succeeded) {
				succeed(job, spec, succeeded.result());
				this.metrics.finished(JobStatus.SUCCEEDED, System.nanoTime() - started);
				return false;
			}
			if (outcome instanceof Outcome.Failed failed) {
				end(jobId, JobStatus.FAILED, failed.message(), failed.type());
				this.metrics.finished(JobStatus.FAILED, System.nanoTime() - started);
				return false;
			}
			if (outcome instanceof Outcome.Cancelled) {
				end(jobId, JobStatus.CANCELLED, null, null);
				this.metrics.finished(JobStatus.CANCELLED, System.nanoTime() - started);
				return false;
			}
			Outcome.Interrupted interrupted = (Outcome.Interrupted) outcome;
			return handBack(jobId, interrupted.message(), interrupted.type());
		}
		catch (RuntimeException ex) {
			log.error("Job {} failed in the worker", jobId, ex);
			end(jobId, JobStatus.FAILED, "The worker could not run the job: " + ex.getMessage(),
					ex.getClass().getName());
			return false;
		}
		finally {
			MDC.remove("jobId");
		}
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

	/** Cancels a job that no worker has started; false when it is no longer queued. */
	boolean cancelQueued(UUID jobId) {
		if (this.jobs.end(jobId, JobStatus.CANCELLED, null, null, Instant.now(), List.of(JobStatus.QUEUED)) == 0) {
			return false;
		}
		this.queue.dequeue(jobId);
		terminal(jobId, JobStatus.CANCELLED, Map.of());
		return true;
	}

	/** Requeues an interrupted job, or ends it when cancelled or out of attempts. */
	private boolean handBack(UUID jobId, String message, String type) {
		JobEntity job = this.jobs.findById(jobId).orElse(null);
		if (job == null || job.status != JobStatus.RUNNING) {
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
		if (this.jobs.requeue(jobId, message, type, Instant.now()) == 0) {
			return false;
		}
		log.warn("Job {} back in the queue after attempt {}: {}", jobId, job.attempts, message);
		status(jobId, JobStatus.QUEUED, Map.of("attempt", job.attempts, "reason", message));
		return true;
	}

	private void succeed(JobEntity job, JobSpec spec, TrainingResult result) {
		Map<String, Object> confusion = new LinkedHashMap<>();
		confusion.put("labels", result.labels());
		confusion.put("matrix", result.confusionMatrix());
		Map<String, Object> finalMetrics = new LinkedHashMap<>();
		finalMetrics.put("perClass", result.perClass());
		finalMetrics.put("confusionMatrix", confusion);
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
					result.parameters().trainable(), result.modelDir()));
		if (this.jobs.succeed(job.id, model.id(), this.json.writeValueAsString(finalMetrics), Instant.now()) == 0) {
			log.warn("Job {} finished training but was no longer RUNNING", job.id);
			return;
		}
		// the model holds the result: nothing to resume any more
		this.checkpoints.delete(job.id);
		terminal(job.id, JobStatus.SUCCEEDED, Map.of("modelId", model.id()));
	}

	private void end(UUID jobId, JobStatus status, String message, String type) {
		if (this.jobs.end(jobId, status, message, type, Instant.now(), List.of(JobStatus.RUNNING)) == 0) {
			return;
		}
		Map<String, Object> data = new LinkedHashMap<>();
		if (message != null) {
			data.put("error", Map.of("message", message, "type", (type != null) ? type : "Error"));
		}
		terminal(jobId, status, data);
	}

	private void terminal(UUID jobId, JobStatus status, Map<String, Object> extra) {
		status(jobId, status, extra);
		Map<String, Object> done = new LinkedHashMap<>(extra);
		done.put("status", status);
		this.events.append(jobId, JobEvents.DONE, done);
		this.jobs.findById(jobId)
			.filter((job) -> this.json.readValue(job.spec, JobSpec.class).callbackUrl() != null)
			.ifPresent((job) -> this.queue.enqueueCallback(jobId, status.name()));
		log.info("Job {} {}", jobId, status);
	}

	private void status(UUID jobId, JobStatus status, Map<String, ?> extra) {
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("status", status);
		data.putAll(extra);
		this.events.append(jobId, JobEvents.STATUS, data);
	}

}
