package com.acme.finetune.training;

import java.util.List;

/**
 * What a base model offers, as {@code GET /backbones} shows it.
 *
 * @param featureDim the embedding size the head sees
 * @param inputSize the image size it was checked with
 * @param trainableStages the stages that exist (by torchvision parameter names) and can
 * be unfrozen
 * @param network {@code resnet50} (DJL blocks) or {@code torchscript}
 */
public record BackboneInfo(String id, int featureDim, int inputSize, List<Stage> trainableStages, String network) {
}
