package com.acme.finetune.training;

import java.util.Map;

/**
 * Learnable parameters (torchvision's counting: BatchNorm running statistics excluded)
 * per stage and in total.
 *
 * @param byStage keys {@code stem}, {@code layer1}..{@code layer4}, {@code head}
 */
public record ParameterCounts(long total, long trainable, Map<String, StageCount> byStage) {

	public long frozen() {
		return this.total - this.trainable;
	}

	public record StageCount(long total, long trainable) {
	}

}
