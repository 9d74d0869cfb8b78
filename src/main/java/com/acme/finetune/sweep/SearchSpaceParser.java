package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import static com.acme.finetune.sweep.SweepSpecParser.MAX_CHECKED_COMBINATIONS;
import static com.acme.finetune.sweep.SweepSpecParser.MAX_CHOICES;
import static com.acme.finetune.sweep.SweepSpecParser.MAX_TRIALS;
import static com.acme.finetune.sweep.SweepSpecParser.RESERVED;
import static com.acme.finetune.sweep.SweepSpecParser.set;

/**
 * {@link SweepSpecParser}'s part for the search space: each dimension's path and
 * distribution ({@code choice}, {@code uniform}, {@code logUniform}, {@code intUniform}),
 * its probe values judged by the job parser in the base job, and a grid's size against
 * maxTrials (with its combinations checked when there are few enough).
 */
final class SearchSpaceParser extends SweepBodyReader {

	private static final Pattern PATH = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,63}(\\.[A-Za-z][A-Za-z0-9]{0,63}){0,4}");

	private final Function<JsonNode, List<Map<String, String>>> jobViolations;

	SearchSpaceParser(List<Map<String, String>> violations,
			Function<JsonNode, List<Map<String, String>>> jobViolations) {
		super(violations);
		this.jobViolations = jobViolations;
	}

	SearchSpace.Dimension dimension(String path, JsonNode node, ObjectNode baseJob, Set<String> baseProblems) {
		String at = "searchSpace." + path;
		if (!PATH.matcher(path).matches()) {
			violation(at, "must be a dotted job-spec path such as hyperparameters.learningRate");
			return null;
		}
		for (Map.Entry<String, String> reserved : RESERVED.entrySet()) {
			if (path.equals(reserved.getKey()) || path.startsWith(reserved.getKey() + ".")) {
				violation(at, "cannot be searched: " + reserved.getValue());
				return null;
			}
		}
		if (node == null || !node.isObject() || node.size() != 1) {
			violation(at, "must be an object with one of choice, uniform, logUniform, intUniform");
			return null;
		}
		String kind = node.propertyNames().iterator().next();
		JsonNode args = node.get(kind);
		SearchSpace.Dimension d = switch (kind) {
			case "choice" -> choiceDimension(path, at, args);
			case "uniform", "logUniform" -> rangeDimension(path, at + "." + kind, args, kind.equals("logUniform"));
			case "intUniform" -> intDimension(path, at + ".intUniform", args);
			default -> {
				violation(at + "." + kind, "unknown dimension: use choice, uniform, logUniform or intUniform");
				yield null;
			}
		};
		if (d == null) {
			return null;
		}
		int before = this.violations.size();
		for (JsonNode probe : d.probes()) {
			probe(path, at, baseJob, Map.of(path, probe), baseProblems);
			if (this.violations.size() - before >= 5) {
				// the rest of a long list of choices says the same
				break;
			}
		}
		return (this.violations.size() == before) ? d : null;
	}

	/** Puts values into the base job and reports what the job parser refuses. */
	private void probe(String path, String at, ObjectNode baseJob, Map<String, JsonNode> values,
			Set<String> baseProblems) {
		ObjectNode job = baseJob.deepCopy();
		for (Map.Entry<String, JsonNode> value : values.entrySet()) {
			if (!set(job, value.getKey(), value.getValue())) {
				violation(at, "unknown job-spec path: a field on the way to " + value.getKey() + " is not an object");
				return;
			}
		}
		String shown = (values.size() == 1) ? String.valueOf(values.values().iterator().next()) : values.toString();
		for (Map<String, String> v : this.jobViolations.apply(job)) {
			String field = v.get("field");
			String message = v.get("message");
			if (baseProblems.contains(field + ": " + message)) {
				continue;
			}
			if ("unknown field".equals(message) && (path + ".").startsWith(field + ".")) {
				violation(at, "unknown job-spec path (" + field + " is not a job-spec field)");
				return;
			}
			if (field.equals(path)) {
				violation(at, message + " (got " + shown + ")");
			}
			else {
				violation(at, "with " + shown + ": " + field + " " + message);
			}
		}
	}

	private SearchSpace.Dimension choiceDimension(String path, String at, JsonNode args) {
		if (args == null || !args.isArray() || args.isEmpty() || args.size() > MAX_CHOICES) {
			violation(at + ".choice", "must be an array of 1 to " + MAX_CHOICES + " values");
			return null;
		}
		List<JsonNode> values = new ArrayList<>();
		for (JsonNode value : args) {
			if (values.contains(value)) {
				violation(at + ".choice", "lists " + value + " twice");
				return null;
			}
			values.add(value);
		}
		return new SearchSpace.Choice(path, values);
	}

	private SearchSpace.Dimension rangeDimension(String path, String at, JsonNode args, boolean log) {
		if (args == null || !args.isArray() || args.size() != 2 || !args.get(0).isNumber() || !args.get(1).isNumber()) {
			violation(at, "must be [low, high], two numbers");
			return null;
		}
		double low = args.get(0).asDouble();
		double high = args.get(1).asDouble();
		if (!Double.isFinite(low) || !Double.isFinite(high) || low >= high) {
			violation(at, "needs low < high");
			return null;
		}
		if (log && low <= 0) {
			violation(at, "needs 0 < low (a log scale)");
			return null;
		}
		return new SearchSpace.Uniform(path, low, high, log);
	}

	private SearchSpace.Dimension intDimension(String path, String at, JsonNode args) {
		if (args == null || !args.isArray() || args.size() != 2 || !args.get(0).isIntegralNumber()
				|| !args.get(1).isIntegralNumber() || !args.get(0).canConvertToLong()
				|| !args.get(1).canConvertToLong()) {
			violation(at, "must be [low, high], two integers");
			return null;
		}
		long low = args.get(0).asLong();
		long high = args.get(1).asLong();
		if (low > high || high - low > 1_000_000_000L) {
			violation(at, "needs low <= high (and a range below 10^9)");
			return null;
		}
		return new SearchSpace.IntUniform(path, low, high);
	}

	/** maxTrials: a grid's size unless given; random and tpe default to 10. */
	int trials(JsonNode body, String strategy, SearchSpace space, ObjectNode baseJob, Set<String> baseProblems) {
		boolean given = body.hasNonNull("maxTrials");
		int maxTrials = integer(body, "maxTrials", 10, 1, MAX_TRIALS);
		if (!SweepSpec.GRID.equals(strategy) || space.dimensions().isEmpty()) {
			return maxTrials;
		}
		for (SearchSpace.Dimension d : space.dimensions()) {
			if (!d.discrete()) {
				violation("searchSpace." + d.path(), "a grid needs choice or intUniform dimensions, not " + d.kind());
			}
		}
		if (!space.discrete()) {
			return maxTrials;
		}
		long size = space.gridSize();
		if (size > MAX_TRIALS) {
			violation("searchSpace",
					"the grid has " + ((size > SearchSpace.MAX_GRID) ? "over " + SearchSpace.MAX_GRID : size)
							+ " combinations; at most " + MAX_TRIALS);
			return maxTrials;
		}
		if (given && maxTrials != size) {
			violation("maxTrials",
					"a grid runs all its " + size + " combinations: leave maxTrials out or set it to " + size);
		}
		if (size <= MAX_CHECKED_COMBINATIONS && space.dimensions().size() > 1) {
			// each value passed alone; combinations can still clash (layerDecay with
			// stageLearningRates, say)
			for (long i = 0; i < size && this.violations.size() < 20; i++) {
				probe("", "searchSpace", baseJob, space.gridPoint(i), baseProblems);
			}
		}
		return (int) size;
	}

}
