package com.acme.finetune.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.backbone.BackboneCatalog;
import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import com.acme.finetune.webhook.WebhookTargets;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Submitting, reading and cancelling jobs. Creation writes the job row and its queue
 * entry in one transaction, so a job is queued exactly when it exists.
 */
@Service
public class JobService {

	static final String IDEMPOTENCY_SCOPE = "jobs";

	private final JobRepository jobs;

	private final JobEpochRepository epochs;

	private final JobQueue queue;

	private final JobEvents events;

	private final JobExecutor executor;

	private final DatasetService datasets;

	private final BackboneCatalog backbones;

	private final IdempotencyKeys idempotency;

	private final TransactionTemplate transaction;

	private final ObjectMapper json;

	private final WebhookTargets webhookTargets;

	private final JobCheckpoints checkpoints;

	JobService(JobRepository jobs, JobEpochRepository epochs, JobQueue queue, JobEvents events, JobExecutor executor,
			DatasetService datasets, BackboneCatalog backbones, IdempotencyKeys idempotency,
			TransactionTemplate transaction, ObjectMapper json, WebhookTargets webhookTargets,
			JobCheckpoints checkpoints) {
		this.webhookTargets = webhookTargets;
		this.jobs = jobs;
		this.epochs = epochs;
		this.queue = queue;
		this.events = events;
		this.executor = executor;
		this.datasets = datasets;
		this.backbones = backbones;
		this.idempotency = idempotency;
		this.transaction = transaction;
		this.json = json;
		this.checkpoints = checkpoints;
	}

	/** A new job, or the one first created with the same idempotency key and body. */
	public JobView submit(JsonNode body, String idempotencyKey) {
		JobSpec spec = check(body);
		String specJson = this.json.writeValueAsString(spec);
		return this.idempotency.once(IDEMPOTENCY_SCOPE, idempotencyKey, specJson,
				(claim) -> create(spec, specJson, claim, null), this::get);
	}

	/**
	 * What is wrong with a job body, every violation at once (the fields as
	 * {@code POST /jobs} names them); empty when it parses. Whether its dataset and base
	 * model exist is {@link #resolve}'s concern.
	 */
	public List<Map<String, String>> violations(JsonNode body) {
		JobSpecParser.Result parsed = JobSpecParser.parse(body);
		List<Map<String, String>> violations = new ArrayList<>(parsed.violations());
		violations.addAll(callbackViolations(body, parsed));
		return violations;
	}

	/**
	 * A job body's spec with its defaults, checked as {@code POST /jobs} checks it (400
	 * listing every violation, or naming a missing dataset or base model).
	 */
	public JobSpec resolve(JsonNode body) {
		return check(body);
	}

	/**
	 * Creates a sweep's trial: an ordinary queued job tagged with the sweep, in the
	 * caller's transaction when there is one (the sweep's lock holds until both are
	 * committed).
	 */
	public UUID submitTrial(JobSpec spec, UUID sweepId) {
		return create(spec, this.json.writeValueAsString(spec), null, sweepId);
	}

	/**
	 * Cancels a job unless it already ended.
	 * @return whether it was active
	 */
	public boolean cancelIfActive(UUID id) {
		try {
			cancel(id);
			return true;
		}
		catch (ApiException ex) {
			if (ex.type() == ProblemType.CONFLICT || ex.type() == ProblemType.NOT_FOUND) {
				return false;
			}
			throw ex;
		}
	}

	/**
	 * Parses and checks a submission: every violation at once, then dataset and base
	 * model.
	 */
	JobSpec check(JsonNode body) {
		JobSpecParser.Result parsed = JobSpecParser.parse(body);
		List<Map<String, String>> violations = new ArrayList<>(parsed.violations());
		violations.addAll(callbackViolations(body, parsed));
		if (!violations.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, violations.size() + " problem(s) with the job specification")
				.with("errors", violations);
		}
		JobSpec spec = parsed.spec();
		try {
			this.datasets.find(spec.datasetId());
		}
		catch (ApiException ex) {
			throw datasetMissing(spec, ex);
		}
		this.backbones.resolve(spec.baseModel());
		return spec;
	}

	/**
	 * Where a well-formed {@code callbackUrl} must not point (SSRF): the parser checks
	 * its form, the webhook policy its host.
	 */
	private List<Map<String, String>> callbackViolations(JsonNode body, JobSpecParser.Result parsed) {
		JsonNode url = (body != null && body.isObject()) ? body.get("callbackUrl") : null;
		boolean reported = parsed.violations().stream().anyMatch((v) -> "callbackUrl".equals(v.get("field")));
		if (url == null || !url.isString() || reported) {
			return List.of();
		}
		return this.webhookTargets.violations(url.asString())
			.stream()
			.map((message) -> Map.of("field", "callbackUrl", "message", message))
			.toList();
	}

	private static ApiException datasetMissing(JobSpec spec, ApiException ex) {
		if (ex.type() != ProblemType.NOT_FOUND) {
			return ex;
		}
		return new ApiException(ProblemType.VALIDATION, "The dataset does not exist").with("errors",
				List.of(Map.of("field", "datasetId", "message", "dataset " + spec.datasetId() + " does not exist")));
	}

	private UUID create(JobSpec spec, String specJson, IdempotencyKeys.Claim claim, UUID sweepId) {
		return this.transaction.execute((status) -> {
			// Holds the dataset's and base model's rows until the job is committed, so a
			// concurrent delete of either waits and then sees the job (409), or, if it
			// went first, this submission finds them gone.
			try {
				this.datasets.lockForNewJob(spec.datasetId());
			}
			catch (ApiException ex) {
				throw datasetMissing(spec, ex);
			}
			this.backbones.lockForNewJob(spec.baseModel());
			JobEntity job = new JobEntity();
			job.id = UUID.randomUUID();
			job.status = JobStatus.QUEUED;
			job.datasetId = spec.datasetId();
			job.sweepId = sweepId;
			job.baseModel = spec.baseModel();
			job.spec = specJson;
			job.totalEpochs = spec.hyperparameters().epochs();
			job.createdAt = java.time.Instant.now();
			job.updatedAt = job.createdAt;
			this.jobs.saveAndFlush(job);
			this.queue.enqueue(job.id);
			this.events.append(job.id, JobEvents.STATUS, Map.of("status", JobStatus.QUEUED));
			if (claim != null) {
				claim.complete(job.id);
			}
			return job.id;
		});
	}

	@Transactional(readOnly = true)
	public JobView get(UUID id) {
		return view(this.jobs.findById(id).orElseThrow(() -> ApiException.notFound("Job", id)));
	}

	@Transactional(readOnly = true)
	public PageResponse<JobView> list(JobStatus status, Paging paging) {
		return list(status, null, paging);
	}

	/** Jobs, optionally only those with a status or the trials of a sweep. */
	@Transactional(readOnly = true)
	public PageResponse<JobView> list(JobStatus status, UUID sweepId, Paging paging) {
		Specification<JobEntity> filter = Specification.unrestricted();
		if (status != null) {
			filter = filter.and((root, query, cb) -> cb.equal(root.get("status"), status));
		}
		if (sweepId != null) {
			filter = filter.and((root, query, cb) -> cb.equal(root.get("sweepId"), sweepId));
		}
		return paging.read(this.jobs, filter, (e) -> Map.of("createdAt", e.createdAt, "id", e.id)).map(this::view);
	}

	@Transactional(readOnly = true)
	public JobMetricsView metrics(UUID id) {
		JobEntity job = this.jobs.findById(id).orElseThrow(() -> ApiException.notFound("Job", id));
		List<EpochView> epochs = this.epochs.findByJobIdOrderByEpoch(id).stream().map(JobService::metrics).toList();
		Object finalMetrics = (job.finalMetrics != null) ? this.json.readValue(job.finalMetrics, Map.class) : null;
		return new JobMetricsView(epochs, finalMetrics);
	}

	/**
	 * Cancels a job: a queued one at once, a running one within one training step (the
	 * worker notices the request); a finished job cannot be cancelled (409).
	 */
	public JobView cancel(UUID id) {
		JobEntity job = this.jobs.findById(id).orElseThrow(() -> ApiException.notFound("Job", id));
		if (job.status == JobStatus.QUEUED && this.executor.cancelQueued(id)) {
			return get(id);
		}
		if (this.jobs.requestCancel(id, java.time.Instant.now()) == 0) {
			JobEntity current = this.jobs.findById(id).orElseThrow();
			if (current.status == JobStatus.QUEUED && this.executor.cancelQueued(id)) {
				return get(id);
			}
			if (current.status.isTerminal()) {
				throw ApiException.conflict("Job " + id + " already ended " + current.status);
			}
		}
		return get(id);
	}

	/**
	 * Continues a FAILED or CANCELLED job from its last checkpoint: back in the queue,
	 * with a fresh set of attempts; the epochs after the checkpoint are trained again.
	 * 409 when the job is in another state or has no checkpoint (it ended before its
	 * first epoch completed, or its checkpoints expired).
	 */
	public JobView resume(UUID id) {
		JobEntity job = this.jobs.findById(id).orElseThrow(() -> ApiException.notFound("Job", id));
		if (job.status != JobStatus.FAILED && job.status != JobStatus.CANCELLED) {
			throw ApiException
				.conflict("Only a FAILED or CANCELLED job can be resumed; job " + id + " is " + job.status);
		}
		int epochs = this.checkpoints.completedEpochs(id);
		if (epochs == 0) {
			throw ApiException.conflict("Job " + id + " has no checkpoint to resume from (it ended before completing "
					+ "an epoch, or its checkpoints expired): submit it again");
		}
		boolean resumed = Boolean.TRUE.equals(this.transaction.execute((status) -> {
			if (this.jobs.resume(id, java.time.Instant.now()) == 0) {
				return false;
			}
			this.queue.enqueue(id);
			this.events.append(id, JobEvents.STATUS, Map.of("status", JobStatus.QUEUED, "resumeAfterEpoch", epochs));
			return true;
		}));
		if (!resumed) {
			throw ApiException.conflict("Job " + id + " changed state meanwhile; it was not resumed");
		}
		return get(id);
	}

	/** Per-epoch metrics and, once the job succeeded, the final per-class evaluation. */
	public record JobMetricsView(List<EpochView> epochs, @JsonProperty("final") Object finalMetrics) {
	}

	private JobView view(JobEntity e) {
		EpochView latest = this.epochs.findByJobIdOrderByEpoch(e.id)
			.stream()
			.reduce((a, b) -> b)
			.map(JobService::metrics)
			.orElse(null);
		JobView.Error error = (e.errorMessage != null || e.errorType != null)
				? new JobView.Error(e.errorMessage, e.errorType) : null;
		return new JobView(e.id, e.status, this.json.readValue(e.spec, JobSpec.class), e.datasetId,
				new JobView.Progress(e.epoch, e.totalEpochs, e.step, e.totalSteps, e.percent, e.etaSeconds,
						e.imagesPerSecond),
				latest, e.modelId, error, e.attempts, e.node, e.createdAt, e.startedAt, e.finishedAt, e.sweepId);
	}

	private static EpochView metrics(JobEpochEntity e) {
		return EpochView.of(new EpochMetrics(e.epoch, e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy,
				e.learningRate, e.durationMs, e.imagesPerSecond, e.phase, e.frozenUpTo));
	}

}
