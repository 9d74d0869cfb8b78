package com.acme.finetune.inference;

import java.util.List;
import java.util.UUID;

/**
 * The answer to a prediction request: per image, the top labels by probability.
 *
 * @param latencyMs server-side time for the whole request (decode, queue, forward pass)
 * @param precision what the model computed in: {@code fp32}, or {@code bf16} (its
 * convolutions; chosen when it was loaded, see docs/training.md → Precision)
 */
public record PredictionResponse(UUID modelId, List<Prediction> predictions, long latencyMs, String precision) {

	public record Prediction(String file, List<Label> top) {
	}

	public record Label(String label, double probability) {
	}

}
