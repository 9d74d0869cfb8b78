package com.acme.finetune.report;

import java.util.List;

import com.acme.finetune.training.EpochMetrics;

/** The report's charts, built from a {@link JobReport}. */
final class ReportCharts {

	static final String TRAIN = "#2563eb";

	static final String VALIDATION = "#f97316";

	static final String RATE = "#7c3aed";

	private ReportCharts() {
	}

	static String loss(JobReport report) {
		return Charts.lineChart("Loss", "loss", epochs(report),
				List.of(new Charts.Series("train", TRAIN, values(report, EpochMetrics::trainLoss)),
						new Charts.Series("validation", VALIDATION, values(report, EpochMetrics::valLoss))),
				Charts.Scale.FROM_ZERO, unfreezing(report));
	}

	static String accuracy(JobReport report) {
		return Charts.lineChart("Accuracy", "accuracy", epochs(report),
				List.of(new Charts.Series("train", TRAIN, values(report, EpochMetrics::trainAccuracy)),
						new Charts.Series("validation", VALIDATION, values(report, EpochMetrics::valAccuracy))),
				Charts.Scale.FRACTION, unfreezing(report));
	}

	static String learningRate(JobReport report) {
		return Charts.lineChart("Learning rate", "learning rate", epochs(report),
				List.of(new Charts.Series("learning rate", RATE, values(report, EpochMetrics::learningRate))),
				Charts.Scale.FROM_ZERO, unfreezing(report));
	}

	static String confusionMatrix(JobReport.Evaluation evaluation) {
		return Charts.heatMap("Confusion matrix", evaluation.labels(), evaluation.matrix());
	}

	/** Where gradual unfreezing moved to a new phase: the epoch whose phase changed. */
	static List<Charts.Marker> unfreezing(JobReport report) {
		List<Charts.Marker> markers = new java.util.ArrayList<>();
		List<EpochMetrics> epochs = report.epochs();
		for (int i = 1; i < epochs.size(); i++) {
			EpochMetrics e = epochs.get(i);
			if (e.phase() != epochs.get(i - 1).phase()) {
				String bound = (e.frozenUpTo() != null) ? e.frozenUpTo() : "?";
				markers.add(new Charts.Marker(e.epoch(), "unfrozen: frozen up to " + bound));
			}
		}
		return markers;
	}

	private static List<Integer> epochs(JobReport report) {
		return report.epochs().stream().map(EpochMetrics::epoch).toList();
	}

	private static List<Double> values(JobReport report, java.util.function.ToDoubleFunction<EpochMetrics> metric) {
		return report.epochs().stream().map((e) -> metric.applyAsDouble(e)).toList();
	}

}
