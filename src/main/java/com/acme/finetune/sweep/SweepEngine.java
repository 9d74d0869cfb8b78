package com.acme.finetune.sweep;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

import com.acme.finetune.job.EpochGate;
import com.acme.finetune.job.JobService;
import com.acme.finetune.job.JobSpec;
import com.acme.finetune.job.JobStatus;
import com.acme.finetune.web.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs sweeps from their rows: {@link #advance} keeps {@code parallelTrials} trials
 * queued or running, notices the budget, and ends a sweep whose trials are over;
 * {@link #proceed} is the trials' {@link EpochGate}, taking and storing the early
 * termination decision at each rung. Both hold the sweep's row lock while they decide, so
 * two replicas never submit the same trial or decide one rung twice, and a restarted node
 * continues from what the rows say.
 */
@Component
class SweepEngine implements EpochGate {

	private static final Logger log = LoggerFactory.getLogger(SweepEngine.class);

	static final TypeReference<Map<String, Object>> PARAMS = new TypeReference<>() {
	};

	private final SweepStore store;

	private final JobService jobs;

	private final TransactionTemplate transaction;

	private final ObjectMapper json;

	private final SweepMetrics metrics;

	/** What budgets are measured against (tests move it on). */
	private volatile Clock clock = Clock.systemUTC();

	SweepEngine(SweepStore store, JobService jobs, TransactionTemplate transaction, ObjectMapper json,
			SweepMetrics metrics) {
		this.store = store;
		this.jobs = jobs;
		this.transaction = transaction;
		this.json = json;
		this.metrics = metrics;
	}

	void clock(Clock value) {
		this.clock = value;
	}

	private boolean budgetSpent(SweepStore.Sweep sweep) {
		return sweep.budgetEndsAt() != null && this.clock.instant().isAfter(sweep.budgetEndsAt());
	}

	SweepSpec spec(SweepStore.Sweep sweep) {
		return this.json.readValue(sweep.spec(), SweepSpec.class);
	}

	/**
	 * One step of a sweep, under its row lock (skipped when another node holds it).
	 * @return the trials it cancelled (queued trials when the budget ran out), to cancel
	 * after the commit
	 */
	void advance(UUID sweepId) {
		List<UUID> toCancel = new ArrayList<>();
		this.transaction.executeWithoutResult((tx) -> advance(sweepId, toCancel));
		for (UUID jobId : toCancel) {
			this.jobs.cancelIfActive(jobId);
		}
	}

	private void advance(UUID sweepId, List<UUID> toCancel) {
		Optional<SweepStore.Sweep> locked = this.store.tryLock(sweepId);
		if (locked.isEmpty() || locked.get().status() != SweepStatus.RUNNING) {
			return;
		}
		SweepStore.Sweep sweep = locked.get();
		SweepSpec spec = spec(sweep);
		List<SweepStore.Trial> all = this.store.trials(sweepId);
		List<SweepStore.Trial> trials = all.stream().filter((t) -> !t.refit()).toList();
		Optional<SweepStore.Trial> refit = all.stream().filter(SweepStore.Trial::refit).findFirst();
		long active = trials.stream().filter(SweepStore.Trial::active).count();
		boolean budgetSpent = budgetSpent(sweep);
		if (budgetSpent && sweep.stopReason() == null) {
			this.store.stopReason(sweepId, "budget");
			this.store.event(sweepId, "budget",
					Map.of("budgetMinutes", sweep.budgetMinutes(), "trialsSubmitted", trials.size()));
			log.info("Sweep {} spent its budget of {} minute(s): no new trials, running ones stop after their epoch",
					sweepId, sweep.budgetMinutes());
			trials.stream().filter((t) -> t.status() == JobStatus.QUEUED).forEach((t) -> toCancel.add(t.jobId()));
		}
		if (!budgetSpent && refit.isEmpty() && trials.size() < sweep.plannedTrials()
				&& active < sweep.parallelTrials()) {
			SearchSpace space = SearchSpace.of(spec.searchSpace());
			int next = trials.size();
			for (long free = sweep.parallelTrials() - active; free > 0 && next < sweep.plannedTrials(); free--) {
				Map<String, JsonNode> params = params(spec, space, next, trials);
				try {
					JobSpec job = this.jobs.resolve(SweepSpecParser.trialBody(spec, params));
					UUID jobId = this.jobs.submitTrial(job, sweepId);
					this.store.insertTrial(sweepId, next, jobId, this.json.writeValueAsString(params), false);
					this.store.event(sweepId, "trial", Map.of("trial", next, "jobId", jobId, "params", params));
					log.info("Sweep {} trial {} submitted as job {}", sweepId, next, jobId);
				}
				catch (ApiException ex) {
					fail(sweepId, trials, "Trial " + next + " could not be submitted: " + ex.getMessage(), toCancel);
					return;
				}
				next++;
			}
			return;
		}
		if (active > 0) {
			return;
		}
		if (!budgetSpent && trials.size() < sweep.plannedTrials()) {
			return;
		}
		Optional<SweepStore.Trial> best = best(trials, spec.objective());
		if (spec.refit() && best.isPresent() && !budgetSpent) {
			if (refit.isEmpty()) {
				submitRefit(sweep, spec, best.get());
				return;
			}
			if (refit.get().active()) {
				return;
			}
		}
		UUID modelId = best.map(SweepStore.Trial::modelId).orElse(null);
		if (refit.isPresent() && refit.get().status().hasModel()) {
			modelId = refit.get().modelId();
		}
		SweepStatus status = best.isPresent() ? SweepStatus.SUCCEEDED : SweepStatus.FAILED;
		String error = best.isPresent() ? null : "No trial produced a model";
		if (this.store.finish(sweepId, status, best.map(SweepStore.Trial::jobId).orElse(null), modelId, error)) {
			Map<String, Object> done = new LinkedHashMap<>();
			done.put("status", status);
			done.put("bestJobId", best.map(SweepStore.Trial::jobId).orElse(null));
			done.put("modelId", modelId);
			done.put("error", error);
			this.store.event(sweepId, "status", Map.of("status", status));
			this.store.event(sweepId, "done", done);
			this.metrics.finished(status);
			log.info("Sweep {} {} (best job {}, model {})", sweepId, status, done.get("bestJobId"), modelId);
		}
	}

	/**
	 * The refit: the best trial's configuration trained again from the start for its best
	 * epoch count on the training and validation splits together
	 * ({@code trainOn: train+validation}, no early stopping: nothing is held out), as a
	 * job of its own whose model becomes the sweep's.
	 */
	private void submitRefit(SweepStore.Sweep sweep, SweepSpec spec, SweepStore.Trial best) {
		Map<String, JsonNode> params = this.json.readValue(best.params(),
				new TypeReference<LinkedHashMap<String, JsonNode>>() {
				});
		tools.jackson.databind.node.ObjectNode body = SweepSpecParser.trialBody(spec, params);
		int epochs = Math.max(1, bestEpoch(sweep.id(), best.jobId(), spec.objective()));
		SweepSpecParser.set(body, "hyperparameters.epochs",
				tools.jackson.databind.node.JsonNodeFactory.instance.numberNode(epochs));
		body.put("trainOn", JobSpec.TRAIN_AND_VALIDATION);
		// the trials' early stopping watched the validation split, which now trains
		SweepSpecParser.set(body, "hyperparameters.earlyStopping.patience",
				tools.jackson.databind.node.JsonNodeFactory.instance.numberNode(0));
		JobSpec job = this.jobs.resolve(body);
		UUID jobId = this.jobs.submitTrial(job, sweep.id());
		this.store.insertTrial(sweep.id(), sweep.plannedTrials(), jobId, best.params(), true);
		this.store.refitJob(sweep.id(), jobId);
		this.store.event(sweep.id(), "refit", Map.of("jobId", jobId, "fromJobId", best.jobId(), "epochs", epochs,
				"trainOn", JobSpec.TRAIN_AND_VALIDATION));
		log.info("Sweep {} refits trial {} as job {} for {} epoch(s)", sweep.id(), best.index(), jobId, epochs);
	}

	/** The epoch where a trial's per-epoch objective was best. */
	private int bestEpoch(UUID sweepId, UUID jobId, SweepSpec.Objective objective) {
		boolean loss = "valLoss".equals(objective.epochMetric());
		return this.store.epochs(sweepId)
			.stream()
			.filter((p) -> p.jobId().equals(jobId))
			.min(Comparator.comparingDouble((SweepStore.EpochPoint p) -> loss ? p.valLoss() : -p.valAccuracy()))
			.map(SweepStore.EpochPoint::epoch)
			.orElse(1);
	}

	private void fail(UUID sweepId, List<SweepStore.Trial> trials, String error, List<UUID> toCancel) {
		if (this.store.finish(sweepId, SweepStatus.FAILED, null, null, error)) {
			this.store.event(sweepId, "status", Map.of("status", SweepStatus.FAILED));
			this.store.event(sweepId, "done", Map.of("status", SweepStatus.FAILED, "error", error));
			this.metrics.finished(SweepStatus.FAILED);
			log.warn("Sweep {} failed: {}", sweepId, error);
			trials.stream().filter(SweepStore.Trial::active).forEach((t) -> toCancel.add(t.jobId()));
		}
	}

	/**
	 * The generator of trial {@code index}: its seed is the sweep's and the index mixed
	 * (SplitMix64's finaliser). {@code java.util.Random} seeded with consecutive numbers
	 * gives nearly the same first double, so seeding it with {@code seed·k + index}
	 * sampled the first dimension of every trial at almost the same point.
	 */
	static Random random(long seed, int index) {
		long z = seed * 0x9E3779B97F4A7C15L + (index + 1) * 0xBF58476D1CE4E5B9L;
		z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
		z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
		return new Random(z ^ (z >>> 31));
	}

	/**
	 * The parameters of trial {@code index}: the grid's combination, a random point of
	 * its own seed, or the TPE's proposal given the trials that finished.
	 */
	Map<String, JsonNode> params(SweepSpec spec, SearchSpace space, int index, List<SweepStore.Trial> trials) {
		Random random = random(spec.seed(), index);
		return switch (spec.strategy()) {
			case SweepSpec.GRID -> space.gridPoint(index);
			case SweepSpec.TPE ->
				Tpe.suggest(space, observations(trials, spec.objective()), spec.objective().maximize(), random);
			default -> space.randomPoint(random);
		};
	}

	private List<Tpe.Observation> observations(List<SweepStore.Trial> trials, SweepSpec.Objective objective) {
		List<Tpe.Observation> observations = new ArrayList<>();
		for (SweepStore.Trial t : trials) {
			Double value = objective(t, objective);
			if (t.status().isTerminal() && value != null) {
				observations.add(new Tpe.Observation(
						this.json.readValue(t.params(), new TypeReference<LinkedHashMap<String, JsonNode>>() {
						}), value));
			}
		}
		return observations;
	}

	/**
	 * A trial's objective: its best validation accuracy or loss over the epochs so far,
	 * or the macro-averaged F1 of its final evaluation.
	 */
	Double objective(SweepStore.Trial t, SweepSpec.Objective objective) {
		return switch (objective.metric()) {
			case "valLoss" -> t.bestValLoss();
			case "macroF1" -> macroF1(t.finalMetrics());
			default -> t.bestValAccuracy();
		};
	}

	@SuppressWarnings("unchecked")
	private Double macroF1(String finalMetrics) {
		if (finalMetrics == null) {
			return null;
		}
		Map<String, Object> metrics = this.json.readValue(finalMetrics, PARAMS);
		Object perClass = metrics.get("perClass");
		if (!(perClass instanceof Map<?, ?> classes) || classes.isEmpty()) {
			return null;
		}
		double sum = 0;
		for (Object value : classes.values()) {
			Object f1 = (value instanceof Map<?, ?> m) ? ((Map<String, Object>) m).get("f1") : null;
			sum += (f1 instanceof Number n) ? n.doubleValue() : 0;
		}
		return sum / classes.size();
	}

	/** The best trial that has a model. */
	Optional<SweepStore.Trial> best(List<SweepStore.Trial> trials, SweepSpec.Objective objective) {
		Comparator<SweepStore.Trial> byObjective = Comparator.comparingDouble((t) -> objective(t, objective));
		return trials.stream()
			.filter((t) -> !t.refit() && t.status().hasModel() && t.modelId() != null
					&& objective(t, objective) != null)
			.max(objective.maximize() ? byObjective : byObjective.reversed());
	}

	@Override
	public boolean gates(UUID jobId) {
		return this.store.trialOf(jobId).map((t) -> !t.refit()).orElse(false);
	}

	@Override
	public boolean stopped(UUID jobId) {
		return this.store.stopped(jobId);
	}

	/**
	 * The decision after a trial's epoch, under the sweep's row lock: the stored one if
	 * any; a stop when the budget is spent; at an ASHA rung, whether the trial is among
	 * the best {@code 1/η} of those that reached the rung. Both kinds are stored.
	 */
	@Override
	public boolean proceed(UUID jobId, int epoch) {
		Optional<UUID> sweepId = this.store.sweepOf(jobId);
		if (sweepId.isEmpty()) {
			return true;
		}
		Boolean proceed = this.transaction.execute((tx) -> decide(sweepId.get(), jobId, epoch));
		return !Boolean.FALSE.equals(proceed);
	}

	private boolean decide(UUID sweepId, UUID jobId, int epoch) {
		Optional<SweepStore.Sweep> locked = this.store.lock(sweepId);
		if (locked.isEmpty()) {
			return true;
		}
		Optional<SweepStore.Decision> earlier = this.store.decision(jobId, epoch);
		if (earlier.isPresent()) {
			return "CONTINUE".equals(earlier.get().decision());
		}
		SweepStore.Sweep sweep = locked.get();
		if (sweep.status() != SweepStatus.RUNNING) {
			// a cancelled sweep cancels its trials; nothing to decide here
			return true;
		}
		SweepSpec spec = spec(sweep);
		if (budgetSpent(sweep)) {
			record(sweepId, new SweepStore.Decision(jobId, epoch, "STOP", "budget", null, 0, Instant.now()));
			return false;
		}
		SweepSpec.EarlyTermination early = spec.earlyTermination();
		if (!early.asha()
				|| !Asha.rungs(early.minEpochs(), early.reductionFactor(), spec.maxEpochs()).contains(epoch)) {
			return true;
		}
		boolean loss = "valLoss".equals(spec.objective().epochMetric());
		Double value = null;
		List<Double> peers = new ArrayList<>();
		for (SweepStore.EpochPoint p : this.store.epochs(sweepId)) {
			if (p.epoch() != epoch) {
				continue;
			}
			double v = loss ? p.valLoss() : p.valAccuracy();
			peers.add(v);
			if (p.jobId().equals(jobId)) {
				value = v;
			}
		}
		if (value == null) {
			// its epoch is not recorded: nothing to judge it by
			return true;
		}
		boolean proceed = Asha.proceed(value, peers, early.reductionFactor(), !loss);
		record(sweepId, new SweepStore.Decision(jobId, epoch, proceed ? "CONTINUE" : "STOP", "asha", value,
				peers.size(), Instant.now()));
		return proceed;
	}

	private void record(UUID sweepId, SweepStore.Decision decision) {
		this.store.insertDecision(sweepId, decision);
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("jobId", decision.jobId());
		data.put("epoch", decision.epoch());
		data.put("decision", decision.decision());
		data.put("reason", decision.reason());
		data.put("objective", decision.objective());
		data.put("peers", decision.peers());
		this.store.event(sweepId, "decision", data);
		log.info("Sweep {} trial job {} after epoch {}: {} ({})", sweepId, decision.jobId(), decision.epoch(),
				decision.decision(), decision.reason());
	}

}
