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
 */
public record NewModel(UUID jobId, String name, List<String> labels, String backbone, Map<String, String> freeze,
		int imageSize, Map<String, Object> metrics, long totalParameters, long trainableParameters, Path artifactDir) {
}
