package com.acme.finetune.training;

import java.util.List;
import java.util.Map;

/**
 * What a run of a recipe will do per phase of its freeze schedule, computed without
 * training: what {@code jobs:validate} reports.
 *
 * @param network {@code resnet50} (DJL blocks) or {@code torchscript}
 * @param scripted for TorchScript: whether the module's BatchNorm follows the training
 * flag (scripted) instead of being fixed (eval-mode trace)
 * @param batchNormReason why {@code batchNorm} resolves the way it does for this network
 * @param phases one per phase, in order
 */
public record RecipePlan(String network, boolean scripted, String batchNormReason, List<PhasePlan> phases) {

	/**
	 * @param phase 0-based index
	 * @param fromEpoch the 1-based epoch the phase starts with
	 * @param upTo the phase's freeze bound
	 * @param parameters learnable parameters and how many train in the phase
	 * @param batchNorm per present stage: {@code train} (batch statistics, updated) or
	 * {@code frozen} (running statistics kept)
	 */
	public record PhasePlan(int phase, int fromEpoch, Stage upTo, ParameterCounts parameters,
			Map<String, String> batchNorm) {

		public boolean headOnly() {
			return this.parameters.trainable() == this.parameters.byStage().get("head").trainable();
		}

	}

	/** The last phase, which trains the most: what the run trains at all. */
	public PhasePlan last() {
		return this.phases.get(this.phases.size() - 1);
	}

}
