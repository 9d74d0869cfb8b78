package com.acme.finetune.evaluation;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The evaluation numbers on a hand-computed example. */
class EvaluationMetricsTests {

	private static final List<String> LABELS = List.of("a", "b", "c", "d", "e", "f");

	private static EvaluationMetrics.Scored scored(String file, int actual, double... p) {
		return new EvaluationMetrics.Scored(file, actual, p);
	}

	@Test
	void numbersMatchAHandComputedExample() {
		List<EvaluationMetrics.Scored> scored = List.of(
				// right, confidence 0.95 (bin 9)
				scored("1", 0, 0.95, 0.01, 0.01, 0.01, 0.01, 0.01),
				// wrong (b for a), confidence 0.65 (bin 6); true label ranked 2nd
				scored("2", 0, 0.30, 0.65, 0.02, 0.01, 0.01, 0.01),
				// wrong (a for c), confidence 0.55 (bin 5); true label ranked last:
				// outside top 5
				scored("3", 2, 0.55, 0.20, 0.01, 0.10, 0.10, 0.04),
				// right, confidence 0.62 (bin 6)
				scored("4", 1, 0.10, 0.62, 0.10, 0.10, 0.05, 0.03));
		EvaluationMetrics.Result r = EvaluationMetrics.compute(LABELS, scored,
				List.of(new EvaluationMetrics.Failed("5", "corrupt")), 10, 1, "fp32");
		assertThat(r.images()).isEqualTo(4);
		assertThat(r.accuracy()).isEqualTo(0.5);
		assertThat(r.topK()).isEqualTo(5);
		assertThat(r.topKAccuracy()).isEqualTo(0.75);
		assertThat(r.confusionMatrix().matrix()[0]).containsExactly(1, 1, 0, 0, 0, 0);
		assertThat(r.confusionMatrix().matrix()[2]).containsExactly(1, 0, 0, 0, 0, 0);
		// a: predicted 2 times, 1 right; true 2 times, 1 found
		assertThat(r.perClass().get("a").precision()).isEqualTo(0.5);
		assertThat(r.perClass().get("a").recall()).isEqualTo(0.5);
		assertThat(r.perClass().get("b").precision()).isEqualTo(0.5);
		assertThat(r.perClass().get("b").recall()).isEqualTo(1.0);
		assertThat(r.perClass().get("b").f1()).isCloseTo(2 / 3.0, within(1e-12));
		assertThat(r.perClass().get("c").support()).isEqualTo(1);
		assertThat(r.perClass().get("c").f1()).isZero();
		// macro F1 over a, b, c (d, e, f have no support): (0.5 + 2/3 + 0) / 3
		assertThat(r.macroF1()).isCloseTo((0.5 + 2 / 3.0) / 3, within(1e-12));
		// ECE: bin 5 (0.55, wrong) 1/4*0.55; bin 6 (0.65 wrong, 0.62 right): acc 0.5,
		// conf
		// 0.635, 2/4*0.135; bin 9 (0.95 right) 1/4*0.05
		assertThat(r.calibration().expectedCalibrationError()).isCloseTo(0.55 / 4 + 0.135 / 2 + 0.05 / 4,
				within(1e-12));
		assertThat(r.calibration().bins().get(6).count()).isEqualTo(2);
		assertThat(r.calibration().bins().get(0).accuracy()).isNull();
		// the most confident mistake only (max 1)
		assertThat(r.mistakes()).containsExactly(new EvaluationMetrics.Mistake("2", "a", "b", 0.65));
		assertThat(r.failed()).hasSize(1);
	}

}
