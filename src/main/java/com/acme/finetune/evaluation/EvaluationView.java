package com.acme.finetune.evaluation;

import java.time.Instant;
import java.util.UUID;

import tools.jackson.databind.JsonNode;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * An evaluation as the API shows it.
 *
 * @param registeredModel the registered name and alias it was asked for, and the version
 * the alias pointed to when the evaluation started; null when asked by model id
 * @param summary the headline numbers, for comparing runs; null until it succeeded
 * @param result every number ({@code GET /evaluations/{id}} only); null in lists and
 * until it succeeded
 */
public record EvaluationView(UUID id, WorkStatus status, UUID modelId, RegisteredModel registeredModel, UUID datasetId,
		String split, Progress progress, Summary summary, JsonNode result, String error, int attempts, String node,
		Instant createdAt, Instant startedAt, Instant finishedAt) {

	public record RegisteredModel(String name, String alias, Integer version) {
	}

	@Schema(name = "EvaluationProgress")
	public record Progress(int images, int totalImages, double percent) {
	}

	public record Summary(int images, double accuracy, double topKAccuracy, int topK, double macroF1,
			double expectedCalibrationError, int failedImages) {
	}

}
