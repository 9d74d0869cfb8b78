package com.acme.finetune.sweep;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.swagger.v3.oas.annotations.media.Schema;

/**
 * A sweep as clients see it: its spec, where it stands, the leaderboard (best objective
 * first, trials without one last), and the best trial with its model.
 *
 * @param bestModelId the best trial's model
 * @param modelId the sweep's model: the refit's when {@code refit} produced one, else the
 * best trial's
 * @param stopReason why trials stopped before all ran: {@code budget}, or null
 */
public record SweepView(UUID id, SweepStatus status, SweepSpec spec, UUID datasetId, String baseModel,
		Progress progress, List<Trial> leaderboard, Trial bestTrial, UUID bestModelId, UUID refitJobId, UUID modelId,
		String stopReason, String error, Instant createdAt, Instant budgetEndsAt, Instant finishedAt) {

	/**
	 * @param epochsSpent epochs trained by all trials so far
	 * @param epochsFullRun epochs the planned trials would train without early
	 * termination
	 * @param epochsSavedByEarlyTermination epochs the stopped trials did not train
	 */
	@Schema(name = "SweepProgress")
	public record Progress(int trialsPlanned, int trialsSubmitted, int done, int running, int queued, int stoppedEarly,
			int failed, int cancelled, int epochsSpent, int epochsFullRun, int epochsSavedByEarlyTermination,
			double percent) {
	}

	/**
	 * One trial: its parameters (path → value), objective so far (null before its first
	 * epoch, or for macroF1 before it ends), epochs trained, and, when early termination
	 * stopped it, the epoch it stopped at.
	 */
	public record Trial(int trial, UUID jobId, String state, Map<String, Object> params, Double objective, int epochs,
			Integer stoppedAtEpoch, UUID modelId) {
	}

}
