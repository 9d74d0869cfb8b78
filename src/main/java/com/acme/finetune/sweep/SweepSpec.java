package com.acme.finetune.sweep;

import java.util.UUID;

import tools.jackson.databind.JsonNode;

/**
 * A sweep as submitted, every default filled in (field names as {@code POST /sweeps}
 * spells them).
 *
 * @param base the job-spec fields every trial shares (without datasetId, baseModel and
 * the epochs, which the sweep sets)
 * @param searchSpace path → dimension, as given or the documented default
 * @param maxTrials how many trials run (a grid's size for grids)
 * @param budgetMinutes wall-clock budget from the sweep's creation, or null
 */
public record SweepSpec(UUID datasetId, String baseModel, Objective objective, JsonNode base, JsonNode searchSpace,
		boolean defaultSearchSpace, String strategy, int maxTrials, int parallelTrials, int maxEpochs,
		EarlyTermination earlyTermination, Integer budgetMinutes, long seed, boolean refit) {

	static final String GRID = "grid";

	static final String RANDOM = "random";

	static final String TPE = "tpe";

	/**
	 * @param metric valAccuracy, valLoss or macroF1
	 */
	public record Objective(String metric, String goal) {

		public boolean maximize() {
			return "maximize".equals(this.goal);
		}

		/**
		 * The per-epoch metric early termination compares: macroF1 is known only at the
		 * end.
		 */
		public String epochMetric() {
			return "valLoss".equals(this.metric) ? "valLoss" : "valAccuracy";
		}

	}

	/**
	 * @param type asha or none
	 */
	public record EarlyTermination(String type, int minEpochs, int reductionFactor) {

		static final EarlyTermination NONE = new EarlyTermination("none", 0, 0);

		public boolean asha() {
			return "asha".equals(this.type);
		}

	}

}
