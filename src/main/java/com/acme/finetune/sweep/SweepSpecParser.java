package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Turns a {@code POST /sweeps} body into a {@link SweepSpec} and its {@link SearchSpace},
 * collecting every violation. Search dimensions are checked against the job spec itself:
 * each probe value (every choice, both bounds of a range) is put into the base job at its
 * path and the job parser judges the result, so an unknown path or a value no job accepts
 * is a violation naming the path, before any trial exists.
 */
final class SweepSpecParser {

	static final int MAX_TRIALS = 500;

	static final int MAX_PARALLEL = 32;

	static final int MAX_DIMENSIONS = 20;

	static final int MAX_CHOICES = 100;

	/** The most grid combinations checked one by one against the job spec. */
	static final int MAX_CHECKED_COMBINATIONS = 1000;

	private static final String SCRATCH = "resnet50-scratch";

	private static final Pattern PATH = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,63}(\\.[A-Za-z][A-Za-z0-9]{0,63}){0,4}");

	/** Paths a sweep owns or that make no sense per trial. */
	private static final Map<String, String> RESERVED = Map.of("datasetId", "every trial uses the sweep's dataset",
			"hyperparameters.epochs", "maxEpochs sets every trial's epochs", "callbackUrl",
			"trials send no callbacks of their own", "register", "register the sweep's best model instead", "baseModel",
			"set baseModel at the top level", "trainOn",
			"trials train on the training split and are scored on validation (refit: true trains on both)");

	private final Function<JsonNode, List<Map<String, String>>> jobViolations;

	private final List<Map<String, String>> violations = new ArrayList<>();

	private SweepSpecParser(Function<JsonNode, List<Map<String, String>>> jobViolations) {
		this.jobViolations = jobViolations;
	}

	/** The parsed sweep, or null with the violations. */
	record Result(SweepSpec spec, SearchSpace space, List<Map<String, String>> violations) {
	}

	/**
	 * @param jobViolations what the job parser finds wrong with a job body (fields as
	 * {@code POST /jobs} names them)
	 */
	static Result parse(JsonNode body, Function<JsonNode, List<Map<String, String>>> jobViolations) {
		SweepSpecParser parser = new SweepSpecParser(jobViolations);
		Result result = parser.root(body);
		return parser.violations.isEmpty() ? result : new Result(null, null, List.copyOf(parser.violations));
	}

	private Result root(JsonNode body) {
		if (body == null || !body.isObject()) {
			violation("", "the body must be a JSON object");
			return null;
		}
		unknownFields(body, "", Set.of("datasetId", "baseModel", "objective", "base", "searchSpace", "strategy",
				"maxTrials", "parallelTrials", "maxEpochs", "earlyTermination", "budgetMinutes", "seed", "refit"));
		UUID datasetId = datasetId(body.get("datasetId"));
		String baseModel = text(body, "baseModel", "resnet50-imagenet");
		if (baseModel != null && (baseModel.isBlank() || baseModel.length() > 200)) {
			violation("baseModel", "must be a backbone id or model:<id>");
			baseModel = null;
		}
		SweepSpec.Objective objective = objective(body);
		String strategy = choice(body, "strategy", SweepSpec.RANDOM,
				List.of(SweepSpec.GRID, SweepSpec.RANDOM, SweepSpec.TPE));
		int maxEpochs = integer(body, "maxEpochs", 10, 1, 1000);
		SweepSpec.EarlyTermination early = earlyTermination(body, maxEpochs);
		Integer budget = body.hasNonNull("budgetMinutes") ? integer(body, "budgetMinutes", 0, 1, 7 * 24 * 60) : null;
		long seed = longValue(body, "seed", 42);
		boolean refit = bool(body, "refit", false);
		int parallel = integer(body, "parallelTrials", 1, 1, MAX_PARALLEL);

		ObjectNode base = base(body.get("base"));
		// the job every trial starts from, checked as a job once
		ObjectNode baseJob = baseJob(base, (datasetId != null) ? datasetId : new UUID(0, 0),
				(baseModel != null) ? baseModel : "resnet50-imagenet", maxEpochs, objective);
		Set<String> baseProblems = new HashSet<>();
		for (Map<String, String> v : this.jobViolations.apply(baseJob)) {
			baseProblems.add(v.get("field") + ": " + v.get("message"));
			violation("base." + v.get("field"), v.get("message"));
		}

		JsonNode spaceNode = body.get("searchSpace");
		boolean defaultSpace = spaceNode == null || spaceNode.isNull();
		ObjectNode spaceJson = defaultSpace ? defaultSpace((baseModel != null) ? baseModel : "", strategy, base) : null;
		if (!defaultSpace && !spaceNode.isObject()) {
			violation("searchSpace", "must be an object of path → dimension");
		}
		else if (!defaultSpace) {
			spaceJson = (ObjectNode) spaceNode;
		}
		List<SearchSpace.Dimension> dimensions = new ArrayList<>();
		if (spaceJson != null) {
			if (spaceJson.isEmpty()) {
				violation("searchSpace", "needs at least one dimension (or leave it out for the default space)");
			}
			if (spaceJson.size() > MAX_DIMENSIONS) {
				violation("searchSpace", "has " + spaceJson.size() + " dimensions; at most " + MAX_DIMENSIONS);
			}
			else {
				for (Map.Entry<String, JsonNode> entry : spaceJson.properties()) {
					SearchSpace.Dimension d = dimension(entry.getKey(), entry.getValue(), baseJob, baseProblems);
					if (d != null) {
						dimensions.add(d);
					}
				}
			}
		}
		SearchSpace space = new SearchSpace(dimensions);
		int maxTrials = trials(body, strategy, space, baseJob, baseProblems);
		if (maxTrials > 0 && parallel > maxTrials) {
			violation("parallelTrials", "must be at most maxTrials (" + maxTrials + ")");
		}
		SweepSpec spec = new SweepSpec(datasetId, baseModel, objective, base, spaceJson, defaultSpace, strategy,
				maxTrials, parallel, maxEpochs, early, budget, seed, refit);
		return new Result(spec, space, List.of());
	}

	/**
	 * The job body of a trial: the base, the sweep's dataset, base model and epochs, the
	 * early-stopping metric aligned with the objective (unless the base sets one), then
	 * the trial's parameters at their paths.
	 */
	static ObjectNode trialBody(SweepSpec spec, Map<String, JsonNode> params) {
		ObjectNode body = baseJob((ObjectNode) spec.base(), spec.datasetId(), spec.baseModel(), spec.maxEpochs(),
				spec.objective());
		params.forEach((path, value) -> set(body, path, value));
		return body;
	}

	private static ObjectNode baseJob(ObjectNode base, UUID datasetId, String baseModel, int maxEpochs,
			SweepSpec.Objective objective) {
		ObjectNode job = (base != null) ? base.deepCopy() : JsonNodeFactory.instance.objectNode();
		job.put("datasetId", datasetId.toString());
		job.put("baseModel", baseModel);
		JsonNode hp = job.get("hyperparameters");
		if (hp == null || !hp.isObject()) {
			// a non-object is reported by the job parser: leave it for that
			if (hp != null && !hp.isNull()) {
				return job;
			}
			hp = job.putObject("hyperparameters");
		}
		((ObjectNode) hp).put("epochs", maxEpochs);
		JsonNode es = hp.get("earlyStopping");
		if (es == null || es.isNull()) {
			((ObjectNode) hp).putObject("earlyStopping").put("metric", objective.epochMetric());
		}
		else if (es.isObject() && !es.has("metric")) {
			((ObjectNode) es).put("metric", objective.epochMetric());
		}
		return job;
	}

	/**
	 * Puts a value at a dotted path, creating objects on the way.
	 * @return false when a node on the way is not an object
	 */
	static boolean set(ObjectNode root, String path, JsonNode value) {
		String[] parts = path.split("\\.");
		ObjectNode node = root;
		for (int i = 0; i < parts.length - 1; i++) {
			JsonNode next = node.get(parts[i]);
			if (next == null || next.isNull()) {
				next = node.putObject(parts[i]);
			}
			if (!next.isObject()) {
				return false;
			}
			node = (ObjectNode) next;
		}
		node.set(parts[parts.length - 1], value);
		return true;
	}

	private ObjectNode base(JsonNode node) {
		if (node == null || node.isNull()) {
			return JsonNodeFactory.instance.objectNode();
		}
		if (!node.isObject()) {
			violation("base", "must be an object of job-spec fields");
			return JsonNodeFactory.instance.objectNode();
		}
		ObjectNode base = ((ObjectNode) node).deepCopy();
		for (String field : List.of("datasetId", "baseModel", "callbackUrl", "register", "trainOn")) {
			if (base.has(field)) {
				violation("base." + field, RESERVED.get(field));
				base.remove(field);
			}
		}
		JsonNode hp = base.get("hyperparameters");
		if (hp != null && hp.isObject() && hp.has("epochs")) {
			violation("base.hyperparameters.epochs", RESERVED.get("hyperparameters.epochs"));
			((ObjectNode) hp).remove("epochs");
		}
		return base;
	}

	/**
	 * The documented default space (README → Sweeps), without the paths the base sets
	 * itself: learning rate, weight decay, augmentation and label smoothing, and for
	 * pretrained bases the freeze depth. Grids get a small discrete version.
	 */
	static ObjectNode defaultSpace(String baseModel, String strategy, ObjectNode base) {
		boolean scratch = SCRATCH.equals(baseModel);
		JsonNodeFactory f = JsonNodeFactory.instance;
		ObjectNode space = f.objectNode();
		if (SweepSpec.GRID.equals(strategy)) {
			space.set("hyperparameters.learningRate",
					choice(f, scratch ? List.of(0.003, 0.01, 0.03) : List.of(0.001, 0.01)));
			if (!scratch) {
				space.set("freeze.upTo", choice(f, List.of("layer4", "layer3")));
			}
			space.set("hyperparameters.augmentation", choice(f, List.of("none", "flip")));
		}
		else {
			space.set("hyperparameters.learningRate", range(f, "logUniform", scratch ? 1e-3 : 1e-4, 1e-1));
			space.set("hyperparameters.weightDecay", range(f, "logUniform", 1e-6, 1e-2));
			if (!scratch) {
				space.set("freeze.upTo", choice(f, List.of("layer4", "layer3", "layer2")));
			}
			space.set("hyperparameters.augmentation", choice(f, List.of("none", "flip", "flip-crop")));
			space.set("hyperparameters.labelSmoothing", range(f, "uniform", 0.0, 0.2));
		}
		if (base != null) {
			// what the base fixes is not searched
			for (Iterator<String> paths = space.propertyNames().iterator(); paths.hasNext();) {
				String path = paths.next();
				if (at(base, path) != null || (path.startsWith("freeze.") && at(base, "freeze.schedule") != null)) {
					paths.remove();
				}
			}
		}
		return space;
	}

	private static ObjectNode choice(JsonNodeFactory f, List<?> values) {
		ArrayNode array = f.arrayNode();
		for (Object v : values) {
			if (v instanceof String s) {
				array.add(s);
			}
			else {
				array.add(((Number) v).doubleValue());
			}
		}
		ObjectNode d = f.objectNode();
		d.set("choice", array);
		return d;
	}

	private static ObjectNode range(JsonNodeFactory f, String kind, double low, double high) {
		ObjectNode d = f.objectNode();
		d.putArray(kind).add(low).add(high);
		return d;
	}

	private static JsonNode at(JsonNode root, String path) {
		JsonNode node = root;
		for (String part : path.split("\\.")) {
			if (node == null || !node.isObject()) {
				return null;
			}
			node = node.get(part);
		}
		return (node == null || node.isNull()) ? null : node;
	}

	private SearchSpace.Dimension dimension(String path, JsonNode node, ObjectNode baseJob, Set<String> baseProblems) {
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
	private int trials(JsonNode body, String strategy, SearchSpace space, ObjectNode baseJob,
			Set<String> baseProblems) {
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

	private SweepSpec.Objective objective(JsonNode body) {
		JsonNode node = body.get("objective");
		if (node == null || node.isNull()) {
			return new SweepSpec.Objective("valAccuracy", "maximize");
		}
		if (!node.isObject()) {
			violation("objective", "must be an object {metric, goal}");
			return new SweepSpec.Objective("valAccuracy", "maximize");
		}
		unknownFields(node, "objective.", Set.of("metric", "goal"));
		String metric = choice(node, "metric", "objective.metric", "valAccuracy",
				List.of("valAccuracy", "valLoss", "macroF1"));
		String natural = "valLoss".equals(metric) ? "minimize" : "maximize";
		String goal = choice(node, "goal", "objective.goal", natural, List.of("maximize", "minimize"));
		if (!goal.equals(natural)) {
			violation("objective.goal", metric + " is to be " + natural + "d");
			goal = natural;
		}
		return new SweepSpec.Objective(metric, goal);
	}

	private SweepSpec.EarlyTermination earlyTermination(JsonNode body, int maxEpochs) {
		JsonNode node = body.get("earlyTermination");
		if (node == null || node.isNull()) {
			return SweepSpec.EarlyTermination.NONE;
		}
		if (!node.isObject()) {
			violation("earlyTermination", "must be an object {type, minEpochs, reductionFactor}");
			return SweepSpec.EarlyTermination.NONE;
		}
		String p = "earlyTermination.";
		unknownFields(node, p, Set.of("type", "minEpochs", "reductionFactor"));
		String type = choice(node, "type", p + "type", "asha", List.of("asha", "none"));
		if ("none".equals(type)) {
			return SweepSpec.EarlyTermination.NONE;
		}
		int minEpochs = integer(node, "minEpochs", p + "minEpochs", 1, 1, 1000);
		int factor = integer(node, "reductionFactor", p + "reductionFactor", 3, 2, 10);
		if (minEpochs >= maxEpochs) {
			violation(p + "minEpochs", "must be below maxEpochs (" + maxEpochs + "): the first rung is there");
		}
		return new SweepSpec.EarlyTermination(type, minEpochs, factor);
	}

	private UUID datasetId(JsonNode node) {
		if (node == null || node.isNull()) {
			violation("datasetId", "is required");
			return null;
		}
		if (!node.isString()) {
			violation("datasetId", "must be a UUID string");
			return null;
		}
		try {
			return UUID.fromString(node.asString());
		}
		catch (IllegalArgumentException ex) {
			violation("datasetId", "must be a UUID");
			return null;
		}
	}

	private void unknownFields(JsonNode node, String prefix, Set<String> known) {
		for (String name : node.propertyNames()) {
			if (!known.contains(name)) {
				violation(prefix + name, "unknown field");
			}
		}
	}

	private String text(JsonNode parent, String name, String fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isString()) {
			violation(name, "must be a string");
			return null;
		}
		return node.asString();
	}

	private String choice(JsonNode parent, String name, String fallback, List<String> allowed) {
		return choice(parent, name, name, fallback, allowed);
	}

	private String choice(JsonNode parent, String name, String path, String fallback, List<String> allowed) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isString() || !allowed.contains(node.asString())) {
			violation(path, "must be one of " + String.join(", ", allowed));
			return fallback;
		}
		return node.asString();
	}

	private int integer(JsonNode parent, String name, int fallback, int min, int max) {
		return integer(parent, name, name, fallback, min, max);
	}

	private int integer(JsonNode parent, String name, String path, int fallback, int min, int max) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isIntegralNumber() || !node.canConvertToInt()) {
			violation(path, "must be an integer");
			return fallback;
		}
		int value = node.asInt();
		if (value < min || value > max) {
			violation(path, "must be between " + min + " and " + max);
			return fallback;
		}
		return value;
	}

	private long longValue(JsonNode parent, String name, long fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isIntegralNumber() || !node.canConvertToLong()) {
			violation(name, "must be an integer");
			return fallback;
		}
		return node.asLong();
	}

	private boolean bool(JsonNode parent, String name, boolean fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isBoolean()) {
			violation(name, "must be true or false");
			return fallback;
		}
		return node.asBoolean();
	}

	private void violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		if (!this.violations.contains(v)) {
			this.violations.add(v);
		}
	}

}
