package com.acme.finetune.sweep;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.acme.finetune.job.JobService;
import com.acme.finetune.job.JobStatus;
import com.acme.finetune.job.JobValidator;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.annotations.media.Schema;

import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/** Submitting, reading, listing and cancelling sweeps. */
@Service
public class SweepService {

	static final String IDEMPOTENCY_SCOPE = "sweeps";

	private final SweepStore store;

	private final SweepEngine engine;

	private final SweepScheduler scheduler;

	private final JobService jobs;

	private final IdempotencyKeys idempotency;

	private final TransactionTemplate transaction;

	private final ObjectMapper json;

	private final JobValidator validator;

	SweepService(SweepStore store, SweepEngine engine, SweepScheduler scheduler, JobService jobs,
			IdempotencyKeys idempotency, TransactionTemplate transaction, ObjectMapper json, JobValidator validator) {
		this.validator = validator;
		this.store = store;
		this.engine = engine;
		this.scheduler = scheduler;
		this.jobs = jobs;
		this.idempotency = idempotency;
		this.transaction = transaction;
		this.json = json;
	}

	/**
	 * Parses and checks a sweep: every violation at once, then dataset and base model.
	 */
	SweepSpecParser.Result check(JsonNode body) {
		SweepSpecParser.Result parsed = SweepSpecParser.parse(body, this.jobs::violations);
		if (!parsed.violations().isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION,
					parsed.violations().size() + " problem(s) with the sweep specification")
				.with("errors", parsed.violations());
		}
		// the dataset and base model exist (the same check as a job's)
		this.jobs.resolve(SweepSpecParser.trialBody(parsed.spec(), Map.of()));
		return parsed;
	}

	/** A new sweep, or the one first created with the same idempotency key and body. */
	public SweepView submit(JsonNode body, String idempotencyKey) {
		SweepSpec spec = check(body).spec();
		String specJson = this.json.writeValueAsString(spec);
		return this.idempotency.once(IDEMPOTENCY_SCOPE, idempotencyKey, specJson, (claim) -> {
			UUID id = this.transaction.execute((tx) -> {
				Instant now = Instant.now();
				UUID sweepId = UUID.randomUUID();
				this.store.insert(new SweepStore.Sweep(sweepId, SweepStatus.RUNNING, spec.datasetId(), spec.baseModel(),
						specJson, spec.strategy(), spec.maxTrials(), spec.parallelTrials(), spec.maxEpochs(),
						spec.budgetMinutes(), null, null, null, null, null, now, null, now));
				this.store.event(sweepId, "status", Map.of("status", SweepStatus.RUNNING));
				claim.complete(sweepId);
				return sweepId;
			});
			this.scheduler.kick(id);
			return id;
		}, this::get);
	}

	/** How many trials {@code POST /sweeps:validate} lists for random and tpe sweeps. */
	static final int PREVIEW_TRIALS = 10;

	/**
	 * {@code POST /sweeps:validate}: the sweep resolved, the trials it would run (a
	 * grid's every combination; the first samples of random; tpe's random start-up
	 * samples, the rest depending on results), and the epochs and time it would spend on
	 * this node.
	 *
	 * @param epochsWithEarlyTermination the epochs if each rung kept exactly 1/η of the
	 * trials (asynchronous ASHA keeps more of the early ones), null without early
	 * termination
	 * @param estimatedSeconds every epoch of every trial one after the other (a worker
	 * trains one job at a time by default, so parallel trials queue behind each other)
	 */
	@Schema(name = "SweepValidation")
	public record Validation(SweepSpec spec, int trials, List<Map<String, Object>> trialParams, String note,
			List<Integer> rungs, int epochsFullRun, Integer epochsWithEarlyTermination, double estimatedEpochSeconds,
			double estimatedSeconds) {
	}

	public Validation validate(JsonNode body) {
		SweepSpecParser.Result parsed = check(body);
		SweepSpec spec = parsed.spec();
		SearchSpace space = parsed.space();
		int shown = switch (spec.strategy()) {
			case SweepSpec.GRID -> spec.maxTrials();
			case SweepSpec.TPE -> Math.min(spec.maxTrials(), Tpe.STARTUP);
			default -> Math.min(spec.maxTrials(), PREVIEW_TRIALS);
		};
		List<Map<String, Object>> trials = new ArrayList<>();
		double secondsSum = 0;
		for (int i = 0; i < shown; i++) {
			Map<String, JsonNode> params = this.engine.params(spec, space, i, List.of());
			trials.add(this.json.readValue(this.json.writeValueAsString(params), SweepEngine.PARAMS));
			if (i < PREVIEW_TRIALS) {
				secondsSum += this.validator.estimateEpochSeconds(SweepSpecParser.trialBody(spec, params));
			}
		}
		double epochSeconds = Math.ceil(100 * secondsSum / Math.max(1, Math.min(shown, PREVIEW_TRIALS))) / 100.0;
		String note = switch (spec.strategy()) {
			case SweepSpec.GRID -> "every combination of the grid";
			case SweepSpec.TPE -> "the first " + shown + " trials sample at random; later ones follow the results";
			default -> (shown < spec.maxTrials()) ? "the first " + shown + " of " + spec.maxTrials() + " samples"
					: "every sample";
		};
		SweepSpec.EarlyTermination early = spec.earlyTermination();
		List<Integer> rungs = early.asha() ? Asha.rungs(early.minEpochs(), early.reductionFactor(), spec.maxEpochs())
				: List.of();
		int full = spec.maxTrials() * spec.maxEpochs();
		Integer withEarly = null;
		if (early.asha()) {
			double perTrial = 0;
			double surviving = 1;
			int from = 0;
			for (int rung : rungs) {
				perTrial += surviving * (rung - from);
				surviving /= early.reductionFactor();
				from = rung;
			}
			perTrial += surviving * (spec.maxEpochs() - from);
			withEarly = (int) Math.ceil(perTrial * spec.maxTrials());
		}
		double seconds = Math.ceil(epochSeconds * ((withEarly != null) ? withEarly : full));
		return new Validation(spec, spec.maxTrials(), trials, note, rungs, full, withEarly, epochSeconds, seconds);
	}

	public SweepView get(UUID id) {
		return view(this.store.find(id).orElseThrow(() -> ApiException.notFound("Sweep", id)));
	}

	public PageResponse<SweepView> list(SweepStatus status, Paging paging) {
		List<SweepView> items = this.store.page(status, paging).stream().map(this::view).toList();
		return new PageResponse<>(items, paging.page(), paging.size(), this.store.count(status));
	}

	/**
	 * Cancels a running sweep and its queued and running trials (409 once it ended). Its
	 * best trial so far stays its best.
	 */
	public SweepView cancel(UUID id) {
		List<SweepStore.Trial> trials = this.transaction.execute((tx) -> {
			SweepStore.Sweep sweep = this.store.lock(id).orElseThrow(() -> ApiException.notFound("Sweep", id));
			if (sweep.status().isTerminal()) {
				throw ApiException.conflict("Sweep " + id + " already ended " + sweep.status());
			}
			SweepSpec spec = this.engine.spec(sweep);
			List<SweepStore.Trial> all = this.store.trials(id);
			Optional<SweepStore.Trial> best = this.engine.best(all, spec.objective());
			this.store.finish(id, SweepStatus.CANCELLED, best.map(SweepStore.Trial::jobId).orElse(null),
					best.map(SweepStore.Trial::modelId).orElse(null), null);
			this.store.event(id, "status", Map.of("status", SweepStatus.CANCELLED));
			this.store.event(id, "done", Map.of("status", SweepStatus.CANCELLED));
			return all;
		});
		for (SweepStore.Trial trial : trials) {
			if (trial.active()) {
				this.jobs.cancelIfActive(trial.jobId());
			}
		}
		return get(id);
	}

	SweepView view(SweepStore.Sweep sweep) {
		SweepSpec spec = this.engine.spec(sweep);
		List<SweepStore.Trial> all = this.store.trials(sweep.id());
		Map<UUID, Integer> stoppedAt = new java.util.HashMap<>();
		for (SweepStore.Decision d : this.store.decisions(sweep.id())) {
			if ("STOP".equals(d.decision())) {
				stoppedAt.put(d.jobId(), d.epoch());
			}
		}
		List<SweepView.Trial> board = new ArrayList<>();
		int done = 0;
		int running = 0;
		int queued = 0;
		int stopped = 0;
		int failed = 0;
		int cancelled = 0;
		int spent = 0;
		int saved = 0;
		int progressEpochs = 0;
		Optional<SweepStore.Trial> refit = Optional.empty();
		for (SweepStore.Trial t : all) {
			if (t.refit()) {
				refit = Optional.of(t);
				continue;
			}
			Double objective = this.engine.objective(t, spec.objective());
			board.add(new SweepView.Trial(t.index(), t.jobId(), t.status().name(),
					this.json.readValue(t.params(), SweepEngine.PARAMS), objective, t.epochs(),
					(t.status() == JobStatus.STOPPED_EARLY) ? stoppedAt.getOrDefault(t.jobId(), t.epochs()) : null,
					t.modelId()));
			spent += t.epochs();
			progressEpochs += t.status().isTerminal() ? sweep.maxEpochs() : t.epochs();
			switch (t.status()) {
				case QUEUED -> queued++;
				case RUNNING -> running++;
				case STOPPED_EARLY -> {
					stopped++;
					done++;
					saved += Math.max(0, sweep.maxEpochs() - t.epochs());
				}
				case FAILED -> {
					failed++;
					done++;
				}
				case CANCELLED -> {
					cancelled++;
					done++;
				}
				default -> done++;
			}
		}
		Comparator<SweepView.Trial> byObjective = Comparator.comparing(SweepView.Trial::objective, Comparator.nullsLast(
				spec.objective().maximize() ? Comparator.<Double>reverseOrder() : Comparator.<Double>naturalOrder()));
		board.sort(byObjective.thenComparingInt(SweepView.Trial::trial));
		Optional<SweepStore.Trial> bestRow = this.engine.best(all, spec.objective());
		SweepView.Trial best = bestRow
			.flatMap((b) -> board.stream().filter((t) -> t.jobId().equals(b.jobId())).findFirst())
			.orElse(null);
		int full = sweep.plannedTrials() * sweep.maxEpochs();
		double percent = sweep.status().isTerminal() ? 100.0
				: (full > 0) ? Math.round(1000.0 * progressEpochs / full) / 10.0 : 0;
		SweepView.Progress progress = new SweepView.Progress(sweep.plannedTrials(), board.size(), done, running, queued,
				stopped, failed, cancelled, spent, full, saved, Math.min(100.0, percent));
		UUID bestModelId = (best != null) ? best.modelId() : null;
		UUID modelId = (sweep.modelId() != null) ? sweep.modelId()
				: refit.filter((r) -> r.status().hasModel()).map(SweepStore.Trial::modelId).orElse(null);
		if (modelId == null && sweep.status() == SweepStatus.SUCCEEDED) {
			modelId = bestModelId;
		}
		return new SweepView(sweep.id(), sweep.status(), spec, sweep.datasetId(), sweep.baseModel(), progress, board,
				best, bestModelId, sweep.refitJobId(), modelId, sweep.stopReason(), sweep.errorMessage(),
				sweep.createdAt(), sweep.budgetEndsAt(), sweep.finishedAt());
	}

}
