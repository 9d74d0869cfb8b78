package com.acme.finetune.training;

import java.util.List;
import java.util.Map;

/**
 * What a base model offers, as {@code GET /backbones} shows it.
 *
 * @param featureDim the embedding size the head sees
 * @param inputSize the image size it was checked with
 * @param trainableStages the stages that exist (by torchvision parameter names) and can
 * be unfrozen
 * @param network {@code resnet50} (DJL blocks) or {@code torchscript}
 * @param parameterTotals learnable parameters (torchvision's counting) by stage id
 * ({@code stem}, {@code layer1}..{@code layer4}, {@code other}), head excluded: enough to
 * count a job's parameters without loading the module again
 * @param batchStatisticsInTrainMode for uploaded TorchScript: whether a forward pass in
 * train mode updates its BatchNorm statistics (scripted modules do, eval-mode traces do
 * not), which decides what {@code batchNorm: auto} resolves to; null for other bases
 */
public record BackboneInfo(String id, int featureDim, int inputSize, List<Stage> trainableStages, String network,
		Map<String, Long> parameterTotals, Boolean batchStatisticsInTrainMode) {
}
