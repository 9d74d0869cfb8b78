package com.acme.finetune.evaluation;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The numbers of an evaluation, from the full probability vector of every image: top-1
 * and top-k accuracy, per-class precision/recall/F1, the confusion matrix (rows true,
 * columns predicted, over the model's labels), calibration of the top-1 confidence
 * (reliability bins and expected calibration error, Guo et al. 2017) and the most
 * confident mistakes. Plain Java: no Spring, no engine.
 */
final class EvaluationMetrics {

	private EvaluationMetrics() {
	}

	/**
	 * One scored image: its true label (an index into the labels) and the probabilities.
	 */
	record Scored(String file, int actual, double[] probabilities) {
	}

	/** An image that could not be scored. */
	record Failed(String file, String error) {
	}

	record PerClass(double precision, double recall, double f1, int support) {
	}

	record ConfusionMatrix(List<String> labels, long[][] matrix) {
	}

	/** One reliability bin: confidences in [lower, upper). */
	record Bin(double lower, double upper, int count, Double accuracy, Double confidence) {
	}

	record Calibration(double expectedCalibrationError, List<Bin> bins) {
	}

	record Mistake(String file, @JsonProperty("true") String actual, String predicted, double probability) {
	}

	/**
	 * @param precision what the model classified in ({@code fp32} or {@code bf16}: the
	 * precision it serves in online)
	 */
	record Result(int images, int topK, double accuracy, double topKAccuracy, double macroF1,
			Map<String, PerClass> perClass, ConfusionMatrix confusionMatrix, Calibration calibration,
			List<Mistake> mistakes, List<Failed> failed, String precision) {
	}

	static Result compute(List<String> labels, List<Scored> scored, List<Failed> failed, int bins, int maxMistakes,
			String modelPrecision) {
		int n = labels.size();
		int k = Math.min(5, n);
		long[][] matrix = new long[n][n];
		int correct = 0;
		int topK = 0;
		int[] binCount = new int[bins];
		int[] binCorrect = new int[bins];
		double[] binConfidence = new double[bins];
		List<Mistake> mistakes = new ArrayList<>();
		for (Scored s : scored) {
			double[] p = s.probabilities();
			int predicted = argmax(p);
			matrix[s.actual()][predicted]++;
			boolean right = predicted == s.actual();
			if (right) {
				correct++;
			}
			int higher = 0;
			for (double q : p) {
				if (q > p[s.actual()]) {
					higher++;
				}
			}
			if (higher < k) {
				topK++;
			}
			double confidence = p[predicted];
			int bin = Math.min(bins - 1, (int) Math.floor(confidence * bins));
			binCount[bin]++;
			binConfidence[bin] += confidence;
			if (right) {
				binCorrect[bin]++;
			}
			else {
				mistakes.add(new Mistake(s.file(), labels.get(s.actual()), labels.get(predicted), confidence));
			}
		}
		int total = scored.size();
		Map<String, PerClass> perClass = new LinkedHashMap<>();
		double f1Sum = 0;
		int present = 0;
		for (int c = 0; c < n; c++) {
			long tp = matrix[c][c];
			long predictedAs = 0;
			long support = 0;
			for (int j = 0; j < n; j++) {
				predictedAs += matrix[j][c];
				support += matrix[c][j];
			}
			double precision = (predictedAs > 0) ? (double) tp / predictedAs : 0;
			double recall = (support > 0) ? (double) tp / support : 0;
			double f1 = (precision + recall > 0) ? 2 * precision * recall / (precision + recall) : 0;
			perClass.put(labels.get(c), new PerClass(precision, recall, f1, (int) support));
			if (support > 0) {
				f1Sum += f1;
				present++;
			}
		}
		List<Bin> reliability = new ArrayList<>(bins);
		double ece = 0;
		for (int b = 0; b < bins; b++) {
			Double accuracy = (binCount[b] > 0) ? (double) binCorrect[b] / binCount[b] : null;
			Double confidence = (binCount[b] > 0) ? binConfidence[b] / binCount[b] : null;
			if (binCount[b] > 0) {
				ece += (double) binCount[b] / total * Math.abs(accuracy - confidence);
			}
			reliability.add(new Bin((double) b / bins, (double) (b + 1) / bins, binCount[b], accuracy, confidence));
		}
		mistakes.sort(Comparator.comparingDouble(Mistake::probability).reversed().thenComparing(Mistake::file));
		return new Result(total, k, (total > 0) ? (double) correct / total : 0, (total > 0) ? (double) topK / total : 0,
				(present > 0) ? f1Sum / present : 0, perClass, new ConfusionMatrix(labels, matrix),
				new Calibration(ece, reliability),
				List.copyOf(mistakes.subList(0, Math.min(maxMistakes, mistakes.size()))), List.copyOf(failed),
				modelPrecision);
	}

	static int argmax(double[] p) {
		int best = 0;
		for (int i = 1; i < p.length; i++) {
			if (p[i] > p[best]) {
				best = i;
			}
		}
		return best;
	}

}
