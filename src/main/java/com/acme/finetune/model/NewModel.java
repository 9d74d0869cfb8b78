package com.acme.finetune.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What a successful job hands to the registry.
 *
 * @param artifactDir the finished artifact directory; the registry moves it into place
 * @param freeze {@code {upTo, batchNorm}}
 * @param metrics {@code {valAccuracy, perClass, confusionMatrix}}
 * @param lineage where the model comes from; null when unknown
 */
public record NewModel(UUID jobId, String name, List<String> labels, String backbone, Map<String, String> freeze,
		int imageSize, Map<String, Object> metrics, long totalParameters, long trainableParameters, Path artifactDir,
		Lineage lineage) {

	/** A model without recorded lineage (tests, imports). */
	public NewModel(UUID jobId, String name, List<String> labels, String backbone, Map<String, String> freeze,
			int imageSize, Map<String, Object> metrics, long totalParameters, long trainableParameters,
			Path artifactDir) {
		this(jobId, name, labels, backbone, freeze, imageSize, metrics, totalParameters, trainableParameters,
				artifactDir, null);
	}

	/**
	 * Copied onto the model, so it outlives the job and the dataset.
	 *
	 * @param datasetId the dataset it was trained on
	 * @param datasetSha256 that dataset's archive digest
	 * @param baseModel what the job started from ({@code resnet50-imagenet},
	 * {@code model:<id>}, …)
	 * @param spec the job's resolved specification as JSON
	 */
	public record Lineage(UUID datasetId, String datasetSha256, String baseModel, String spec) {
	}

}
