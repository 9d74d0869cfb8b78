package com.acme.finetune.training;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Learning rates per stage as multipliers of the run's learning rate: explicit ones
 * ({@code stageLearningRates}, unlisted stages ×1), or a layer-wise decay (head ×1,
 * layer4 ×d, layer3 ×d², … stem ×d⁵), as discriminative fine-tuning does (ULMFiT, BEiT's
 * layer decay): the stages nearest the input change least.
 *
 * @param multipliers explicit multipliers by stage id ({@code stem}, {@code layer1} ..
 * {@code layer4}, {@code head}); empty with a layer decay
 * @param layerDecay the decay factor, or {@code null}
 */
public record StageLearningRates(Map<String, Double> multipliers, Double layerDecay) {

	/** The stage ids in the order from the input to the head. */
	public static final String[] STAGE_IDS = { "stem", "layer1", "layer2", "layer3", "layer4", "head" };

	public StageLearningRates {
		multipliers = Map.copyOf(multipliers);
		if (layerDecay != null && !multipliers.isEmpty()) {
			throw new IllegalArgumentException("stageLearningRates and layerDecay exclude each other");
		}
	}

	/** Every stage at the run's learning rate. */
	public static StageLearningRates uniform() {
		return new StageLearningRates(Map.of(), null);
	}

	public static StageLearningRates layerDecay(double decay) {
		return new StageLearningRates(Map.of(), decay);
	}

	public boolean isUniform() {
		return this.layerDecay == null && this.multipliers.values().stream().allMatch((m) -> m == 1.0);
	}

	/** The multiplier of a stage id; parameters outside the stages never train. */
	public double multiplier(String stage) {
		if (this.layerDecay != null) {
			for (int i = 0; i < STAGE_IDS.length; i++) {
				if (STAGE_IDS[i].equals(stage)) {
					return Math.pow(this.layerDecay, STAGE_IDS.length - 1 - i);
				}
			}
			return 1.0;
		}
		return this.multipliers.getOrDefault(stage, 1.0);
	}

	/** Every stage's multiplier, stem first: what {@code jobs:validate} shows. */
	public Map<String, Double> resolved() {
		Map<String, Double> result = new LinkedHashMap<>();
		for (String stage : STAGE_IDS) {
			result.put(stage, multiplier(stage));
		}
		return result;
	}

}
