package com.acme.finetune.dataset;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What clients and other capabilities see of a dataset: its classes, counts, split and
 * the warnings found at intake. Never the persistence entity.
 *
 * @param classes labels in label-index order (sorted)
 * @param classCounts images per label, train and validation together
 * @param sizeBytes size of the uploaded archive
 * @param sha256 digest of the uploaded archive
 */
public record DatasetSummary(UUID id, String name, String status, List<String> classes, int imageCount,
		Map<String, Integer> classCounts, Split split, long sizeBytes, String sha256, List<Warning> warnings,
		Instant createdAt) {

	/** Image counts of the training and the validation subset. */
	public record Split(int train, int validation) {
	}

	/**
	 * A problem worth knowing about that did not stop the upload.
	 *
	 * @param code stable identifier: {@code duplicate-within-class},
	 * {@code duplicate-across-classes}, {@code duplicate-across-splits},
	 * {@code class-imbalance}, {@code tiny-images}, {@code ignored-files}
	 * @param files the files concerned, where it applies
	 * @param classWeights suggested balanced class weights
	 * {@code n_total / (n_classes * n_class)}, for {@code class-imbalance}
	 */
	@JsonInclude(JsonInclude.Include.NON_NULL)
	public record Warning(String code, String message, List<String> files, Map<String, Double> classWeights) {
	}

}
