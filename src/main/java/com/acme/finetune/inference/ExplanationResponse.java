package com.acme.finetune.inference;

import java.util.UUID;

/**
 * A Grad-CAM explanation as JSON.
 *
 * @param label the explained label (the one asked for, or the top-1)
 * @param probability the model's probability of that label for this image
 * @param heatmap rows × columns at the last stage's resolution (1/32 of the model's input
 * size per side, e.g. 7×7 at 224 px), top row first, scaled to [0, 1]: 1 where the
 * evidence for the label is strongest, 0 where there is none
 * @param latencyMs server-side time for the whole request
 */
public record ExplanationResponse(UUID modelId, String label, double probability, float[][] heatmap, long latencyMs) {

}
