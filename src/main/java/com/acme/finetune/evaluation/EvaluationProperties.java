package com.acme.finetune.evaluation;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * Evaluations and batch predictions on the workers.
 *
 * @param batchSize images per forward pass: larger than online serving's batches, since
 * nobody waits for a single image
 * @param maxMistakes the most confident mistakes an evaluation keeps
 * @param calibrationBins equal-width confidence bins of the reliability diagram and the
 * expected calibration error
 * @param thumbnailSize longest side of the mistake thumbnails in the report
 * @param maxTopK the most labels a batch prediction may return per image
 */
@Validated
@ConfigurationProperties("app.evaluations")
public record EvaluationProperties(@DefaultValue("32") @Min(1) @Max(512) int batchSize,
		@DefaultValue("50") @Min(0) @Max(1000) int maxMistakes,
		@DefaultValue("10") @Min(2) @Max(100) int calibrationBins,
		@DefaultValue("48") @Min(8) @Max(256) int thumbnailSize, @DefaultValue("10") @Min(1) int maxTopK) {
}
