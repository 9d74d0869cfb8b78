package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

import static org.assertj.core.api.Assertions.assertThat;

class TpeTests {

	private static final JsonNodeFactory F = JsonNodeFactory.instance;

	private final SearchSpace space = new SearchSpace(List.of(new SearchSpace.Uniform("lr", 1e-4, 1e-1, true),
			new SearchSpace.Choice("aug", List.of(F.stringNode("none"), F.stringNode("flip"), F.stringNode("crop"))),
			new SearchSpace.IntUniform("batch", 8, 64)));

	/** Peaks at lr = 1e-2, aug = flip, batch = 32. */
	private static double objective(Map<String, JsonNode> p) {
		double lr = Math.log10(p.get("lr").asDouble());
		double batch = p.get("batch").asDouble();
		return -Math.pow(lr + 2, 2) - ("flip".equals(p.get("aug").asString()) ? 0 : 1) - Math.pow((batch - 32) / 32, 2);
	}

	@Test
	void startsAtRandomThenProposesNearTheBestTrials() {
		double tpe = meanOfLastTen(this::tpeRun);
		double random = meanOfLastTen(this::randomRun);
		// the sampler beats random search on a smooth objective, seed by seed on average
		assertThat(tpe).isGreaterThan(random + 0.2);
	}

	@Test
	void theSameHistoryAndSeedGiveTheSameProposal() {
		List<Tpe.Observation> history = tpeRun(3);
		Map<String, JsonNode> a = Tpe.suggest(this.space, history, true, new Random(5));
		Map<String, JsonNode> b = Tpe.suggest(this.space, history, true, new Random(5));
		assertThat(a).isEqualTo(b);
		assertThat(a.keySet()).containsExactly("lr", "aug", "batch");
		assertThat(a.get("lr").asDouble()).isBetween(1e-4, 1e-1);
		assertThat(a.get("batch").asLong()).isBetween(8L, 64L);
	}

	@Test
	void minimisingFollowsTheLowestObjectives() {
		List<Tpe.Observation> history = new ArrayList<>();
		Random random = new Random(1);
		for (int i = 0; i < 30; i++) {
			Map<String, JsonNode> p = (i < Tpe.STARTUP) ? this.space.randomPoint(random)
					: Tpe.suggest(this.space, history, false, random);
			history.add(new Tpe.Observation(p, -objective(p)));
		}
		double lastTen = history.subList(20, 30)
			.stream()
			.mapToDouble(Tpe.Observation::objective)
			.average()
			.orElseThrow();
		double firstFour = history.subList(0, 4)
			.stream()
			.mapToDouble(Tpe.Observation::objective)
			.average()
			.orElseThrow();
		assertThat(lastTen).isLessThan(firstFour);
	}

	private double meanOfLastTen(java.util.function.IntFunction<List<Tpe.Observation>> run) {
		double sum = 0;
		int seeds = 8;
		for (int seed = 0; seed < seeds; seed++) {
			List<Tpe.Observation> history = run.apply(seed);
			sum += history.subList(history.size() - 10, history.size())
				.stream()
				.mapToDouble(Tpe.Observation::objective)
				.average()
				.orElseThrow();
		}
		return sum / seeds;
	}

	private List<Tpe.Observation> tpeRun(int seed) {
		return run(seed,
				(history) -> Tpe.suggest(this.space, history, true, new Random(seed * 1000L + history.size())));
	}

	private List<Tpe.Observation> randomRun(int seed) {
		return run(seed, (history) -> this.space.randomPoint(new Random(seed * 1000L + history.size())));
	}

	private List<Tpe.Observation> run(int seed,
			java.util.function.Function<List<Tpe.Observation>, Map<String, JsonNode>> next) {
		List<Tpe.Observation> history = new ArrayList<>();
		for (int i = 0; i < 30; i++) {
			Map<String, JsonNode> p = next.apply(history);
			history.add(new Tpe.Observation(p, objective(p)));
		}
		return history;
	}

}
