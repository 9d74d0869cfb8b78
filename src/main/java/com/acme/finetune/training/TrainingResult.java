package com.acme.finetune.training;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The outcome of a successful run.
 *
 * @param epochs every epoch's metrics, in order
 * @param bestEpoch the epoch whose weights were kept (1-based)
 * @param perClass precision/recall/F1/support per label on the validation split, best
 * epoch
 * @param confusionMatrix rows = true label, columns = predicted label, in {@code labels}
 * order
 * @param modelDir the directory holding the model artifact (see {@code ModelArtifact})
 * @param parameters learnable parameter counts as torchvision counts them
 * @param embeddingCacheUsed whether the head was trained on cached backbone features
 * @param precision what the backbone trained in: {@code fp32} or {@code bf16} mixed
 * precision ({@link TrainingPrecision})
 */
public record TrainingResult(List<EpochMetrics> epochs, int bestEpoch, List<String> labels,
		Map<String, ClassMetrics> perClass, long[][] confusionMatrix, Path modelDir, ParameterCounts parameters,
		boolean embeddingCacheUsed, String precision) {

	public record ClassMetrics(double precision, double recall, double f1, long support) {
	}

}
