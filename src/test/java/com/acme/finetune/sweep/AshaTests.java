package com.acme.finetune.sweep;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AshaTests {

	@Test
	void rungsGrowByTheReductionFactorBelowTheLastEpoch() {
		assertThat(Asha.rungs(1, 3, 12)).containsExactly(1, 3, 9);
		assertThat(Asha.rungs(2, 2, 16)).containsExactly(2, 4, 8);
		assertThat(Asha.rungs(1, 2, 1)).isEmpty();
		assertThat(Asha.rungs(3, 3, 9)).containsExactly(3);
	}

	@Test
	void aTrialGoesOnOnlyAmongTheBestFractionOfThoseAtItsRung() {
		// alone at the rung: nothing to compare with, it goes on
		assertThat(Asha.proceed(0.2, List.of(0.2), 3, true)).isTrue();
		// two at the rung, η = 3: only the better one goes on
		assertThat(Asha.proceed(0.5, List.of(0.7, 0.5), 3, true)).isFalse();
		assertThat(Asha.proceed(0.7, List.of(0.7, 0.5), 3, true)).isTrue();
		// six at the rung, η = 3: the best two
		List<Double> six = List.of(0.1, 0.9, 0.5, 0.8, 0.3, 0.6);
		assertThat(six.stream().filter((v) -> Asha.proceed(v, six, 3, true))).containsExactlyInAnyOrder(0.9, 0.8);
		// minimising a loss: the smallest go on
		assertThat(six.stream().filter((v) -> Asha.proceed(v, six, 3, false))).containsExactlyInAnyOrder(0.1, 0.3);
		// ties at the cut go on
		assertThat(Asha.proceed(0.5, List.of(0.5, 0.5), 2, true)).isTrue();
		// a NaN metric never goes on, and does not count as a better peer
		assertThat(Asha.proceed(Double.NaN, List.of(Double.NaN, 0.1), 2, true)).isFalse();
		assertThat(Asha.proceed(0.1, List.of(Double.NaN, 0.1), 2, true)).isTrue();
	}

	@Test
	void epochsSavedAreWhatStoppedTrialsDidNotTrain() {
		assertThat(Asha.epochsSaved(9, List.of(1, 3, 9))).isEqualTo(8 + 6);
	}

}
