package com.acme.finetune.training;

import java.util.List;

/**
 * Gradual unfreezing (ULMFiT): which stages are frozen from which epoch on. Each phase
 * starts after {@link Phase#epoch()} completed epochs (0 = from the start) and freezes
 * fewer stages than the one before; the stages it unfreezes train from then on, with
 * fresh optimizer state.
 */
public record FreezeSchedule(List<Phase> phases) {

	/**
	 * @param epoch completed epochs before this phase starts (0-based epoch index)
	 * @param upTo every stage up to and including this one is frozen in the phase
	 */
	public record Phase(int epoch, Stage upTo) {
	}

	public FreezeSchedule {
		phases = List.copyOf(phases);
		if (phases.isEmpty() || phases.get(0).epoch() != 0) {
			throw new IllegalArgumentException("A freeze schedule starts with a phase at epoch 0");
		}
		for (int i = 1; i < phases.size(); i++) {
			Phase before = phases.get(i - 1);
			Phase phase = phases.get(i);
			if (phase.epoch() <= before.epoch()) {
				throw new IllegalArgumentException("Freeze phases must start at increasing epochs");
			}
			if (phase.upTo().ordinal() >= before.upTo().ordinal()) {
				throw new IllegalArgumentException("Each freeze phase must unfreeze at least one more stage");
			}
		}
	}

	/** One phase for the whole run. */
	public static FreezeSchedule constant(Stage upTo) {
		return new FreezeSchedule(List.of(new Phase(0, upTo)));
	}

	/** The index of the phase that epoch {@code epochIndex} (0-based) belongs to. */
	public int indexAt(int epochIndex) {
		int index = 0;
		for (int i = 1; i < this.phases.size(); i++) {
			if (this.phases.get(i).epoch() <= epochIndex) {
				index = i;
			}
		}
		return index;
	}

	public Phase phaseAt(int epochIndex) {
		return this.phases.get(indexAt(epochIndex));
	}

	public Stage initialUpTo() {
		return this.phases.get(0).upTo();
	}

	/** The stage bound freezing the least, which decides what is ever trained. */
	public Stage finalUpTo() {
		return this.phases.get(this.phases.size() - 1).upTo();
	}

}
