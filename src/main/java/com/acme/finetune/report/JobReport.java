package com.acme.finetune.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.job.JobView;
import com.acme.finetune.training.EpochMetrics;
import org.jspecify.annotations.Nullable;

/**
 * What a report shows: the job, its epochs so far and, once it succeeded, the final
 * evaluation. The final metrics arrive as the loosely typed JSON map of the metrics API;
 * they are read here, once, into records the renderers can trust.
 */
record JobReport(JobView job, List<EpochMetrics> epochs, @Nullable Evaluation evaluation) {

	/** Final per-class scores and the confusion matrix (rows true, columns predicted). */
	record Evaluation(List<String> labels, long[][] matrix, Map<String, ClassScores> perClass) {

		/** Share of all validation images on the diagonal. */
		double accuracy() {
			long correct = 0;
			long total = 0;
			for (int row = 0; row < this.matrix.length; row++) {
				for (int col = 0; col < this.matrix[row].length; col++) {
					total += this.matrix[row][col];
					correct += (row == col) ? this.matrix[row][col] : 0;
				}
			}
			return (total > 0) ? (double) correct / total : Double.NaN;
		}

	}

	record ClassScores(double precision, double recall, double f1, long support) {
	}

	static JobReport of(JobView job, List<EpochMetrics> epochs, @Nullable Object finalMetrics) {
		return new JobReport(job, epochs, evaluation(finalMetrics));
	}

	private static @Nullable Evaluation evaluation(@Nullable Object finalMetrics) {
		if (!(finalMetrics instanceof Map<?, ?> root)) {
			return null;
		}
		Map<String, ClassScores> perClass = new LinkedHashMap<>();
		if (root.get("perClass") instanceof Map<?, ?> classes) {
			classes.forEach((label, scores) -> {
				if (scores instanceof Map<?, ?> s) {
					perClass.put(String.valueOf(label), new ClassScores(number(s.get("precision")),
							number(s.get("recall")), number(s.get("f1")), (long) number(s.get("support"))));
				}
			});
		}
		List<String> labels = new ArrayList<>();
		List<long[]> rows = new ArrayList<>();
		if (root.get("confusionMatrix") instanceof Map<?, ?> confusion) {
			if (confusion.get("labels") instanceof List<?> names) {
				names.forEach((name) -> labels.add(String.valueOf(name)));
			}
			if (confusion.get("matrix") instanceof List<?> matrix) {
				for (Object row : matrix) {
					if (row instanceof List<?> cells) {
						rows.add(cells.stream().mapToLong((c) -> (long) number(c)).toArray());
					}
				}
			}
		}
		if (labels.isEmpty()) {
			labels.addAll(perClass.keySet());
		}
		return new Evaluation(List.copyOf(labels), rows.toArray(long[][]::new), perClass);
	}

	private static double number(@Nullable Object value) {
		return (value instanceof Number n) ? n.doubleValue() : Double.NaN;
	}

}
