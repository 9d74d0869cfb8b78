package com.acme.finetune.evaluation;

import java.time.Instant;
import java.util.UUID;

import io.swagger.v3.oas.annotations.media.Schema;

/**
 * A batch prediction as the API shows it.
 *
 * @param source {@code archive} (an uploaded zip or tar.gz) or {@code dataset}
 * @param results where the results are, once it succeeded
 */
public record BatchPredictionView(UUID id, WorkStatus status, UUID modelId, String source, UUID datasetId, int topK,
		Progress progress, String error, int attempts, String node, String results, Instant createdAt,
		Instant startedAt, Instant finishedAt) {

	/**
	 * @param images images classified (or failed) so far
	 * @param failed images that could not be decoded (an {@code error} line each)
	 */
	@Schema(name = "BatchPredictionProgress")
	public record Progress(int images, int totalImages, int failed, double percent, Double imagesPerSecond) {
	}

}
