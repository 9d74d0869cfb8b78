package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A small tree-structured Parzen estimator (Bergstra et al. 2011), univariate as Optuna's
 * default sampler: the finished trials are split into the best {@code γ} and the rest;
 * per dimension a Parzen density is fitted to each part (Gaussians around the observed
 * values in the dimension's unit range — log range for {@code logUniform} — mixed with a
 * uniform prior; smoothed counts for choices), candidates are drawn from the density of
 * the good part, and the one with the highest ratio {@code l(x)/g(x)} is proposed. Until
 * {@link #STARTUP} trials have an objective it samples at random.
 */
final class Tpe {

	/** Finished trials needed before the model is used. */
	static final int STARTUP = 4;

	static final double GAMMA = 0.25;

	static final int CANDIDATES = 24;

	private Tpe() {
	}

	/** A finished trial: its parameters and its objective. */
	record Observation(Map<String, JsonNode> params, double objective) {
	}

	static Map<String, JsonNode> suggest(SearchSpace space, List<Observation> history, boolean maximize,
			Random random) {
		List<Observation> finished = history.stream().filter((o) -> Double.isFinite(o.objective())).toList();
		if (finished.size() < STARTUP) {
			return space.randomPoint(random);
		}
		List<Observation> ranked = new ArrayList<>(finished);
		Comparator<Observation> byObjective = Comparator.comparingDouble(Observation::objective);
		ranked.sort(maximize ? byObjective.reversed() : byObjective);
		int good = Math.max(1, (int) Math.ceil(GAMMA * ranked.size()));
		List<Observation> below = ranked.subList(0, good);
		List<Observation> above = ranked.subList(good, ranked.size());
		Map<String, JsonNode> point = new LinkedHashMap<>();
		for (SearchSpace.Dimension d : space.dimensions()) {
			point.put(d.path(), suggest(d, below, above, random));
		}
		return point;
	}

	private static JsonNode suggest(SearchSpace.Dimension d, List<Observation> below, List<Observation> above,
			Random random) {
		if (d instanceof SearchSpace.Choice choice) {
			return categorical(choice, below, above, random);
		}
		double[] good = units(d, below);
		double[] bad = units(d, above);
		double bestRatio = Double.NEGATIVE_INFINITY;
		double best = random.nextDouble();
		for (int i = 0; i < CANDIDATES; i++) {
			double u = draw(good, random);
			double ratio = Math.log(density(good, u)) - Math.log(density(bad, u));
			if (ratio > bestRatio) {
				bestRatio = ratio;
				best = u;
			}
		}
		if (d instanceof SearchSpace.Uniform uniform) {
			return JsonNodeFactory.instance.numberNode(uniform.fromUnit(best));
		}
		SearchSpace.IntUniform ints = (SearchSpace.IntUniform) d;
		long span = ints.high() - ints.low() + 1;
		long value = ints.low() + Math.min(span - 1, (long) Math.floor(best * span));
		return JsonNodeFactory.instance.numberNode(value);
	}

	/** Observed values in [0, 1]; observations lacking the path are skipped. */
	private static double[] units(SearchSpace.Dimension d, List<Observation> observations) {
		List<Double> units = new ArrayList<>();
		for (Observation o : observations) {
			JsonNode value = o.params().get(d.path());
			if (value == null || !value.isNumber()) {
				continue;
			}
			if (d instanceof SearchSpace.Uniform uniform) {
				units.add(uniform.toUnit(value.asDouble()));
			}
			else if (d instanceof SearchSpace.IntUniform ints) {
				units.add((value.asLong() - ints.low() + 0.5) / (ints.high() - ints.low() + 1));
			}
		}
		return units.stream().mapToDouble(Double::doubleValue).toArray();
	}

	private static double bandwidth(int n) {
		return Math.max(0.05, 0.25 * Math.pow(Math.max(n, 1), -0.2));
	}

	/** Mixture of the uniform prior (weight 1) and a Gaussian per observation. */
	static double density(double[] points, double u) {
		double sigma = bandwidth(points.length);
		double sum = 1.0;
		for (double p : points) {
			double z = (u - p) / sigma;
			sum += Math.exp(-0.5 * z * z) / (sigma * Math.sqrt(2 * Math.PI));
		}
		return sum / (points.length + 1);
	}

	private static double draw(double[] points, Random random) {
		int component = random.nextInt(points.length + 1);
		if (component == points.length) {
			return random.nextDouble();
		}
		double u = points[component] + random.nextGaussian() * bandwidth(points.length);
		return Math.min(1, Math.max(0, u));
	}

	private static JsonNode categorical(SearchSpace.Choice choice, List<Observation> below, List<Observation> above,
			Random random) {
		int k = choice.values().size();
		double[] good = counts(choice, below);
		double[] bad = counts(choice, above);
		double goodTotal = java.util.Arrays.stream(good).sum();
		double badTotal = java.util.Arrays.stream(bad).sum();
		int best = random.nextInt(k);
		double bestRatio = Double.NEGATIVE_INFINITY;
		for (int i = 0; i < CANDIDATES; i++) {
			double r = random.nextDouble() * goodTotal;
			int c = 0;
			while (c < k - 1 && r >= good[c]) {
				r -= good[c];
				c++;
			}
			double ratio = Math.log(good[c] / goodTotal) - Math.log(bad[c] / badTotal);
			if (ratio > bestRatio) {
				bestRatio = ratio;
				best = c;
			}
		}
		return choice.values().get(best);
	}

	/** Counts per value, each starting at 1 (the prior). */
	private static double[] counts(SearchSpace.Choice choice, List<Observation> observations) {
		double[] counts = new double[choice.values().size()];
		java.util.Arrays.fill(counts, 1.0);
		for (Observation o : observations) {
			int index = choice.values().indexOf(o.params().get(choice.path()));
			if (index >= 0) {
				counts[index]++;
			}
		}
		return counts;
	}

}
