package com.acme.finetune.job;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import com.acme.finetune.backbone.BackboneCatalog;
import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.djl.Bf16Support;
import com.acme.finetune.job.TrainingProcessProtocol.Message;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.tracing.Traces;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.TrainingResult;
import io.micrometer.tracing.Span;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Runs one attempt of a job in its own training process and follows it to the end:
 * records progress (at most once a second), every epoch's metrics and events, forwards
 * cancellation and shutdown to the process, and enforces the job's timeout.
 * <p>
 * Traces: the attempt's {@code traceparent} goes to the process in its request (its log
 * lines carry the trace id), and each epoch the process reports becomes an {@code epoch}
 * span, a child of the attempt's span timed by the epoch's own duration. The spans are
 * made here rather than in the process, so the process needs no exporter of its own and a
 * killed process loses no finished epoch's span.
 */
@Component
class JobRunner {

	private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

	private static final long POLL_MILLIS = 250;

	private static final long CANCEL_CHECK_MILLIS = 500;

	private static final long PROGRESS_INTERVAL_MILLIS = 1000;

	private static final long STOP_GRACE_MILLIS = 60_000;

	private final DatasetService datasets;

	private final BackboneCatalog baseModels;

	private final ArtifactStore store;

	private final JobRepository jobs;

	private final JobEpochRepository epochs;

	private final JobEvents events;

	private final JobProperties properties;

	private final JobMetrics metrics;

	private final JobCheckpoints checkpoints;

	private final ObjectProvider<EpochGate> gate;

	private final Traces traces;

	private final Bf16Support bf16;

	JobRunner(DatasetService datasets, BackboneCatalog baseModels, ArtifactStore store, JobRepository jobs,
			JobEpochRepository epochs, JobEvents events, JobProperties properties, JobMetrics metrics,
			JobCheckpoints checkpoints, ObjectProvider<EpochGate> gate, Traces traces, Bf16Support bf16) {
		this.gate = gate;
		this.bf16 = bf16;
		this.traces = traces;
		this.datasets = datasets;
		this.baseModels = baseModels;
		this.store = store;
		this.jobs = jobs;
		this.epochs = epochs;
		this.events = events;
		this.properties = properties;
		this.metrics = metrics;
		this.checkpoints = checkpoints;
	}

	/** How an attempt ended. */
	sealed interface Outcome {

		/**
		 * @param stoppedEarly whether the {@link EpochGate} ended the run before its last
		 * epoch
		 */
		record Succeeded(TrainingResult result, boolean stoppedEarly) implements Outcome {

			Succeeded(TrainingResult result) {
				this(result, false);
			}

		}

		record Failed(String message, String type) implements Outcome {
		}

		record Cancelled() implements Outcome {
		}

		/** The attempt ended without a verdict (process died, worker stopping): retry. */
		record Interrupted(String message, String type) implements Outcome {
		}

	}

	/**
	 * Runs the attempt.
	 * @param attempt the attempt's span, parent of its epochs' spans
	 */
	Outcome run(JobEntity job, JobSpec spec, BooleanSupplier shuttingDown, Span attempt) {
		Path workDir = this.store.area("jobs", job.id.toString()).resolve("attempt-" + job.attempts);
		TrainingProcessProtocol.Request request;
		try {
			ArtifactStore.deleteRecursively(workDir);
			TrainingData data = JobSpecs.trainingData(spec, this.datasets.trainingData(job.datasetId));
			Path checkpoints = this.checkpoints.dir(job.id);
			TrainingRequest training = JobSpecs
				.trainingRequest(spec, this.baseModels.resolve(spec.baseModel()), workDir.resolve("model"),
						this.store.root().resolve("cache"))
				.withCheckpointDir(checkpoints)
				.withPrecision(this.bf16.trainingPrecision(spec.precision()));
			// a retried attempt continues after its checkpoint: the epochs after it are
			// trained (and recorded) again, those before it never
			int resumeAfter = this.checkpoints.completedEpochs(job.id);
			this.epochs.deleteByJobIdAfter(job.id, resumeAfter);
			if (resumeAfter > 0) {
				log.info("Job {} attempt {} resumes after epoch {}", job.id, job.attempts, resumeAfter);
			}
			request = new TrainingProcessProtocol.Request(training, data, gate().gates(job.id),
					this.traces.traceparent(attempt));
		}
		catch (RuntimeException | IOException ex) {
			return new Outcome.Failed("The job could not be prepared: " + ex.getMessage(), ex.getClass().getName());
		}
		Instant deadline = Instant.now().plus(Duration.ofMinutes(spec.timeoutMinutes()));
		try (TrainingProcess process = TrainingProcess.start(request, workDir, this.properties.childJvmOptions())) {
			log.info("Job {} attempt {} training in process {}", job.id, job.attempts, process.pid());
			return follow(job, process, deadline, shuttingDown, attempt);
		}
		catch (IOException ex) {
			return new Outcome.Interrupted("The training process could not be started: " + ex.getMessage(),
					ex.getClass().getName());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return new Outcome.Interrupted("The worker was interrupted", ex.getClass().getName());
		}
	}

	private Outcome follow(JobEntity job, TrainingProcess process, Instant deadline, BooleanSupplier shuttingDown,
			Span attempt) throws InterruptedException {
		Progress progress = new Progress(job.id, job.totalEpochs);
		long lastCancelCheck = 0;
		String stopReason = null;
		long stopSentAt = 0;
		boolean cancelled = false;
		boolean halted = false;
		Message verdict = null;
		while (true) {
			Message message = process.poll(POLL_MILLIS);
			if (message != null && TrainingProcess.isEnd(message)) {
				break;
			}
			if (message != null) {
				switch (message.type()) {
					case Message.START ->
						progress.start(message.totalEpochs(), message.stepsPerEpoch(), message.epoch());
					case Message.STEP -> progress.step(message);
					case Message.EPOCH -> epoch(job.id, message.metrics(), progress, attempt);
					case Message.GATE -> halted |= !gate(job.id, message.epoch(), process);
					default -> verdict = message;
				}
			}
			long now = System.currentTimeMillis();
			if (stopReason == null && now - lastCancelCheck >= CANCEL_CHECK_MILLIS) {
				lastCancelCheck = now;
				if (this.jobs.isCancelRequested(job.id)) {
					cancelled = true;
					stopReason = "cancelled";
					stopSentAt = now;
					process.send(TrainingProcessProtocol.CANCEL);
				}
				else if (shuttingDown.getAsBoolean()) {
					stopReason = "worker shutting down";
					stopSentAt = now;
					process.send(TrainingProcessProtocol.STOP);
				}
				else if (Instant.now().isAfter(deadline)) {
					log.warn("Job {} ran past its timeout; killing process {}", job.id, process.pid());
					process.kill();
					process.waitForExit(10_000);
					return new Outcome.Failed("The job exceeded its timeout", "TimeoutException");
				}
			}
			if (stopReason != null && (!process.isAlive() || now - stopSentAt > STOP_GRACE_MILLIS)) {
				// a process that ignores the request past the grace period is stuck: kill
				// it
				break;
			}
		}
		int exit = process.waitForExit((stopReason != null) ? 5_000 : STOP_GRACE_MILLIS);
		Message last;
		while ((last = process.poll(0)) != null) {
			if (!TrainingProcess.isEnd(last) && !Message.STEP.equals(last.type()) && !Message.START.equals(last.type())
					&& !Message.GATE.equals(last.type())) {
				if (Message.EPOCH.equals(last.type())) {
					epoch(job.id, last.metrics(), progress, attempt);
				}
				else {
					verdict = last;
				}
			}
		}
		if (exit == Integer.MIN_VALUE) {
			process.kill();
		}
		if (verdict != null && Message.RESULT.equals(verdict.type())) {
			return new Outcome.Succeeded(verdict.result(), halted);
		}
		if (verdict != null && Message.ERROR.equals(verdict.type())) {
			return new Outcome.Failed(verdict.errorMessage(), verdict.errorType());
		}
		if (cancelled) {
			return new Outcome.Cancelled();
		}
		if (stopReason != null) {
			return new Outcome.Interrupted("Training stopped: " + stopReason, "WorkerShutdown");
		}
		return new Outcome.Interrupted("The training process exited unexpectedly (exit code " + exit + ")",
				"TrainingProcessDied");
	}

	private EpochGate gate() {
		return this.gate.getIfAvailable(() -> EpochGate.NONE);
	}

	/**
	 * Answers the process waiting after an epoch; when the decision cannot be made (a
	 * database blip) the trial goes on, which never loses work.
	 * @return whether it goes on
	 */
	private boolean gate(UUID jobId, Integer epoch, TrainingProcess process) {
		boolean proceed = true;
		try {
			proceed = (epoch == null) || gate().proceed(jobId, epoch);
		}
		catch (RuntimeException ex) {
			log.warn("Job {}: no decision after epoch {}; it goes on ({})", jobId, epoch, ex.toString());
		}
		if (!proceed) {
			log.info("Job {} stops early after epoch {}", jobId, epoch);
		}
		process.send(proceed ? TrainingProcessProtocol.PROCEED : TrainingProcessProtocol.HALT);
		return proceed;
	}

	private void epoch(UUID jobId, EpochMetrics m, Progress progress, Span attempt) {
		long end = System.currentTimeMillis();
		Map<String, String> tags = new LinkedHashMap<>();
		tags.put("job.id", jobId.toString());
		tags.put("epoch", Integer.toString(m.epoch()));
		tags.put("train.loss", Double.toString(m.trainLoss()));
		tags.put("val.accuracy", Double.toString(m.valAccuracy()));
		this.traces.record("epoch", attempt, end - m.durationMs(), end, tags);
		JobEpochEntity row = new JobEpochEntity();
		row.jobId = jobId;
		row.epoch = m.epoch();
		row.trainLoss = m.trainLoss();
		row.trainAccuracy = m.trainAccuracy();
		row.valLoss = m.valLoss();
		row.valAccuracy = m.valAccuracy();
		row.learningRate = m.learningRate();
		row.durationMs = m.durationMs();
		row.imagesPerSecond = m.imagesPerSecond();
		row.phase = m.phase();
		row.frozenUpTo = m.frozenUpTo();
		this.epochs.save(row);
		this.events.append(jobId, JobEvents.EPOCH, EpochView.of(m));
		this.metrics.epochFinished(m);
		progress.flush();
	}

	/**
	 * Progress of the running attempt, written to the job row and events at most once a
	 * second.
	 */
	private final class Progress {

		private final UUID jobId;

		private final long startedNanos = System.nanoTime();

		private int totalEpochs;

		private int stepsPerEpoch;

		private int epoch;

		private int step;

		/** Epochs a resumed attempt started after: not part of its speed. */
		private int completedEpochs;

		private Double imagesPerSecond;

		private long lastWrite;

		private boolean dirty;

		Progress(UUID jobId, int totalEpochs) {
			this.jobId = jobId;
			this.totalEpochs = totalEpochs;
		}

		void start(Integer totalEpochs, Integer stepsPerEpoch, Integer completedEpochs) {
			this.totalEpochs = (totalEpochs != null) ? totalEpochs : this.totalEpochs;
			this.stepsPerEpoch = (stepsPerEpoch != null) ? stepsPerEpoch : 0;
			this.completedEpochs = (completedEpochs != null) ? completedEpochs : 0;
			this.epoch = this.completedEpochs;
			this.step = (this.completedEpochs > 0) ? this.stepsPerEpoch : 0;
			this.dirty = true;
			flush();
		}

		void step(Message m) {
			this.epoch = m.epoch();
			this.step = m.step();
			if (m.stepsPerEpoch() != null) {
				this.stepsPerEpoch = m.stepsPerEpoch();
			}
			this.imagesPerSecond = m.imagesPerSecond();
			if (m.imagesPerSecond() != null) {
				JobRunner.this.metrics.trainingThroughput(m.imagesPerSecond());
			}
			this.dirty = true;
			if (System.currentTimeMillis() - this.lastWrite >= PROGRESS_INTERVAL_MILLIS) {
				flush();
			}
		}

		void flush() {
			if (!this.dirty) {
				return;
			}
			long total = (long) this.totalEpochs * Math.max(this.stepsPerEpoch, 1);
			long done = (long) Math.max(this.epoch - 1, 0) * this.stepsPerEpoch + this.step;
			double percent = (total > 0) ? Math.min(100.0, 100.0 * done / total) : 0;
			long doneHere = done - (long) this.completedEpochs * this.stepsPerEpoch;
			Long eta = null;
			if (doneHere > 0) {
				double secondsPerStep = (System.nanoTime() - this.startedNanos) / 1e9 / doneHere;
				eta = Math.round(secondsPerStep * (total - done));
			}
			percent = Math.round(percent * 10) / 10.0;
			JobRunner.this.jobs.progress(this.jobId, this.epoch, this.totalEpochs, this.step, this.stepsPerEpoch,
					percent, eta, this.imagesPerSecond, Instant.now());
			Map<String, Object> data = new LinkedHashMap<>();
			data.put("epoch", this.epoch);
			data.put("totalEpochs", this.totalEpochs);
			data.put("step", this.step);
			data.put("totalSteps", this.stepsPerEpoch);
			data.put("percent", percent);
			data.put("etaSeconds", eta);
			data.put("imagesPerSecond", this.imagesPerSecond);
			JobRunner.this.events.append(this.jobId, JobEvents.PROGRESS, data);
			this.lastWrite = System.currentTimeMillis();
			this.dirty = false;
		}

	}

}
