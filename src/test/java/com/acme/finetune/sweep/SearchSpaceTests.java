package com.acme.finetune.sweep;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

import static org.assertj.core.api.Assertions.assertThat;

class SearchSpaceTests {

	private static final JsonNodeFactory F = JsonNodeFactory.instance;

	@Test
	void consecutiveTrialsOfARandomSweepSpreadOverTheRange() {
		// seeded seed·k + index, java.util.Random gave twelve trials the same learning
		// rate
		// to two digits (0.00554 … 0.00556 over 1e-4 … 1e-1)
		SearchSpace space = new SearchSpace(List.of(new SearchSpace.Uniform("lr", 1e-4, 1e-1, true)));
		List<Double> rates = new java.util.ArrayList<>();
		for (int i = 0; i < 12; i++) {
			rates.add(space.randomPoint(SweepEngine.random(7, i)).get("lr").asDouble());
		}
		double low = rates.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
		double high = rates.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
		assertThat(Math.log10(high / low)).as("%s", rates).isGreaterThan(1.5);
		assertThat(space.randomPoint(SweepEngine.random(7, 3))).isEqualTo(space.randomPoint(SweepEngine.random(7, 3)));
		assertThat(space.randomPoint(SweepEngine.random(8, 3)))
			.isNotEqualTo(space.randomPoint(SweepEngine.random(7, 3)));
	}

	@Test
	void aGridVisitsEveryCombinationOnce() {
		SearchSpace space = new SearchSpace(
				List.of(new SearchSpace.Choice("a", List.of(F.stringNode("x"), F.stringNode("y"))),
						new SearchSpace.IntUniform("b", 1, 3)));
		assertThat(space.discrete()).isTrue();
		assertThat(space.gridSize()).isEqualTo(6);
		Set<Map<String, JsonNode>> seen = new HashSet<>();
		for (int i = 0; i < 6; i++) {
			seen.add(space.gridPoint(i));
		}
		assertThat(seen).hasSize(6);
		assertThat(space.gridPoint(0)).containsExactly(Map.entry("a", F.stringNode("x")),
				Map.entry("b", F.numberNode(1L)));
		assertThat(space.gridPoint(1).get("b")).isEqualTo(F.numberNode(2L));
	}

	@Test
	void logUniformSamplesStayInRangeAndSpreadOverDecades() {
		SearchSpace.Uniform lr = new SearchSpace.Uniform("lr", 1e-4, 1e-1, true);
		Random random = new Random(3);
		int belowMilli = 0;
		for (int i = 0; i < 1000; i++) {
			double v = lr.sample(random).asDouble();
			assertThat(v).isBetween(1e-4, 1e-1);
			belowMilli += (v < 1e-3) ? 1 : 0;
		}
		// a third of the log range lies below 1e-3
		assertThat(belowMilli).isBetween(280, 390);
		assertThat(lr.fromUnit(lr.toUnit(0.01))).isCloseTo(0.01, org.assertj.core.data.Offset.offset(1e-12));
	}

	@Test
	void theStoredSpaceRebuildsTheSameDimensions() {
		ObjectNode json = SweepSpecParser.defaultSpace("resnet50-imagenet", "random", null);
		SearchSpace space = SearchSpace.of(json);
		assertThat(space.dimensions()).extracting(SearchSpace.Dimension::path)
			.containsExactly("hyperparameters.learningRate", "hyperparameters.weightDecay", "freeze.upTo",
					"hyperparameters.augmentation", "hyperparameters.labelSmoothing");
		assertThat(space.randomPoint(new Random(9))).isEqualTo(space.randomPoint(new Random(9)));
	}

	@Test
	void theDefaultSpaceLeavesWhatTheBaseFixesAndFreezingOfScratchBases() {
		ObjectNode base = F.objectNode();
		base.putObject("hyperparameters").put("learningRate", 0.01);
		assertThat(SweepSpecParser.defaultSpace("resnet50-imagenet", "random", base).propertyNames())
			.doesNotContain("hyperparameters.learningRate")
			.contains("freeze.upTo");
		assertThat(SweepSpecParser.defaultSpace("resnet50-scratch", "random", null).propertyNames())
			.doesNotContain("freeze.upTo");
		SearchSpace grid = SearchSpace.of(SweepSpecParser.defaultSpace("resnet50-imagenet", "grid", null));
		assertThat(grid.discrete()).isTrue();
		assertThat(grid.gridSize()).isEqualTo(8);
	}

}
