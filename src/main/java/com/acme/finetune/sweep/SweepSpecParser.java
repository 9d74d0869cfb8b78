package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Turns a {@code POST /sweeps} body into a {@link SweepSpec} and its {@link SearchSpace},
 * collecting every violation. Search dimensions are checked against the job spec itself:
 * each probe value (every choice, both bounds of a range) is put into the base job at its
 * path and the job parser judges the result, so an unknown path or a value no job accepts
 * is a violation naming the path, before any trial exists ({@link SearchSpaceParser}).
 * The fields are read by {@link SweepBodyReader}'s readers into one list of violations.
 */
final class SweepSpecParser extends SweepBodyReader {

	static final int MAX_TRIALS = 500;

	static final int MAX_PARALLEL = 32;

	static final int MAX_DIMENSIONS = 20;

	static final int MAX_CHOICES = 100;

	/** The most grid combinations checked one by one against the job spec. */
	static final int MAX_CHECKED_COMBINATIONS = 1000;

	private static final String SCRATCH = "resnet50-scratch";

	/** Paths a sweep owns or that make no sense per trial. */
	static final Map<String, String> RESERVED = Map.of("datasetId", "every trial uses the sweep's dataset",
			"hyperparameters.epochs", "maxEpochs sets every trial's epochs", "callbackUrl",
			"trials send no callbacks of their own", "register", "register the sweep's best model instead", "baseModel",
			"set baseModel at the top level", "trainOn",
			"trials train on the training split and are scored on validation (refit: true trains on both)");

	private final Function<JsonNode, List<Map<String, String>>> jobViolations;

	private final SearchSpaceParser searchSpace;

	private SweepSpecParser(Function<JsonNode, List<Map<String, String>>> jobViolations) {
		super(new ArrayList<>());
		this.jobViolations = jobViolations;
		this.searchSpace = new SearchSpaceParser(this.violations, jobViolations);
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
					SearchSpace.Dimension d = this.searchSpace.dimension(entry.getKey(), entry.getValue(), baseJob,
							baseProblems);
					if (d != null) {
						dimensions.add(d);
					}
				}
			}
		}
		SearchSpace space = new SearchSpace(dimensions);
		int maxTrials = this.searchSpace.trials(body, strategy, space, baseJob, baseProblems);
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

}
