package com.acme.finetune.training;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.nn.ResNet50Block;

/**
 * What {@code batchNorm} means for a given network, stage by stage. The rule of
 * {@code auto}: BatchNorm in trainable stages uses and updates batch statistics, in
 * frozen stages keeps its statistics. How much of that a network can honour depends on
 * how it is built:
 * <ul>
 * <li>DJL blocks ({@code resnet50}: scratch, or a model fine-tuned from it) run each
 * stage with its own training flag, so {@code auto} is exactly the rule.</li>
 * <li>A TorchScript module traced in eval mode (the ImageNet zoo file, or an upload made
 * as recommended) has {@code training=False} compiled into every BatchNorm call: its
 * statistics are fixed whatever is asked, so every stage keeps them.</li>
 * <li>A scripted TorchScript module switches all its BatchNorms together: batch
 * statistics everywhere when nothing is frozen, else its statistics everywhere (a frozen
 * stage must not change).</li>
 * </ul>
 */
public final class BatchNormPolicy {

	/** The per-stage outcomes as the API spells them. */
	public static final String TRAIN = "train";

	public static final String FROZEN = "frozen";

	private BatchNormPolicy() {
	}

	/**
	 * Whether the BatchNorms of trainable stages use and update batch statistics.
	 * @param network {@code resnet50} or {@code torchscript}
	 * @param scripted for TorchScript: whether the module's BatchNorm follows the
	 * training flag (a scripted module, not an eval-mode trace)
	 */
	static boolean trainsStatistics(String network, boolean scripted, BatchNormMode mode, Stage upTo) {
		return switch (mode) {
			case TRAIN -> true;
			case FROZEN -> false;
			case AUTO -> ResNet50Block.KIND.equals(network) || (scripted && upTo == Stage.NONE);
		};
	}

	/**
	 * Each present stage's outcome ({@link #TRAIN} or {@link #FROZEN}) under a freeze
	 * bound, for {@code jobs:validate}.
	 */
	static Map<String, String> resolve(String network, boolean scripted, BatchNormMode mode, Stage upTo,
			List<Stage> stages) {
		boolean train = trainsStatistics(network, scripted, mode, upTo);
		Map<String, String> result = new LinkedHashMap<>();
		for (Stage stage : stages) {
			boolean frozenStage = stage.isFrozenBy(upTo);
			String outcome;
			if (ResNet50Block.KIND.equals(network)) {
				outcome = (!frozenStage && train) ? TRAIN : FROZEN;
			}
			else {
				// one switch for the whole module; traces never leave eval mode
				boolean anyTrainable = stages.stream().anyMatch((s) -> !s.isFrozenBy(upTo));
				outcome = (scripted && train && anyTrainable) ? TRAIN : FROZEN;
			}
			result.put(stage.id(), outcome);
		}
		return result;
	}

	/** Why the network resolves the way it does, in a sentence for the API. */
	static String explain(String network, boolean scripted) {
		if (ResNet50Block.KIND.equals(network)) {
			return "DJL ResNet-50 blocks: each stage follows the rule (trainable stages use batch statistics, "
					+ "frozen stages keep theirs)";
		}
		if (!scripted) {
			return "TorchScript traced in eval mode: its BatchNorm statistics are fixed in the module, so every "
					+ "stage keeps them";
		}
		return "scripted TorchScript: its BatchNorms switch together, batch statistics only when no stage is frozen";
	}

}
