package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Asynchronous successive halving (ASHA, Li et al. 2020), in its stopping form (as Ray
 * Tune's {@code AsyncHyperBandScheduler}): rungs at {@code minEpochs · η^k} epochs below
 * the maximum; a trial that reaches a rung goes on only if its objective there is among
 * the best {@code max(1, ⌊n/η⌋)} of the {@code n} trials that have reached that rung so
 * far (itself included, ties go on). Early trials are judged against few peers, which is
 * what makes it asynchronous: nobody waits for a rung to fill.
 */
final class Asha {

	private Asha() {
	}

	/** The rung epochs of a trial running {@code maxEpochs}: none at the last epoch. */
	static List<Integer> rungs(int minEpochs, int reductionFactor, int maxEpochs) {
		List<Integer> rungs = new ArrayList<>();
		long rung = minEpochs;
		while (rung < maxEpochs) {
			rungs.add((int) rung);
			rung *= reductionFactor;
		}
		return rungs;
	}

	/**
	 * Whether a trial with {@code value} at a rung goes on.
	 * @param peers the values of every trial that reached the rung, this one included
	 * @param maximize whether larger is better
	 */
	static boolean proceed(double value, List<Double> peers, int reductionFactor, boolean maximize) {
		if (Double.isNaN(value)) {
			return false;
		}
		List<Double> ranked = new ArrayList<>(peers.stream().filter((v) -> !Double.isNaN(v)).toList());
		if (ranked.isEmpty()) {
			return true;
		}
		Comparator<Double> best = maximize ? Comparator.reverseOrder() : Comparator.naturalOrder();
		ranked.sort(best);
		int keep = Math.max(1, peers.size() / reductionFactor);
		double cutoff = ranked.get(Math.min(keep, ranked.size()) - 1);
		return maximize ? value >= cutoff : value <= cutoff;
	}

	/**
	 * Epochs a full run of every trial would spend, and those it spends when trials stop
	 * at rungs: the saving is their difference.
	 */
	static int epochsSaved(int maxEpochs, List<Integer> epochsTrainedByStoppedTrials) {
		int saved = 0;
		for (int trained : epochsTrainedByStoppedTrials) {
			saved += Math.max(0, maxEpochs - trained);
		}
		return saved;
	}

}
