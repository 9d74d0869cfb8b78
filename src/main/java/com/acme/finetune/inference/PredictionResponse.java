package com.acme.finetune.inference;

import java.util.List;
import java.util.UUID;

/**
 * The answer to a prediction request: per image, the top labels by probability.
 *
 * @param latencyMs server-side time for the whole request (decode, queue, forward pass)
 */
public record PredictionResponse(UUID modelId, List<Prediction> predictions, long latencyMs) {

	public record Prediction(String file, List<Label> top) {
	}

	public record Label(String label, double probability) {
	}

}
