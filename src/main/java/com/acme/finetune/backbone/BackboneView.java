package com.acme.finetune.backbone;

import java.util.List;

/** A base model jobs can start from (SPEC.md → Backbones). */
public record BackboneView(String id, String architecture, String source, boolean available, String reason,
		int featureDim, int inputSize, List<String> trainableStages) {
}
