package com.acme.finetune.job;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

import com.acme.finetune.registry.Registration;
import com.acme.finetune.registry.RegistryNames;
import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Hyperparameters.ClassWeights;
import com.acme.finetune.training.Hyperparameters.EarlyStoppingMetric;
import com.acme.finetune.training.Hyperparameters.LrSchedule;
import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.StageLearningRates;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import tools.jackson.databind.JsonNode;

/**
 * Turns a submitted job body into a {@link JobSpec}, filling in the seed's defaults and
 * collecting every violation (unknown fields, wrong types, values out of range) instead
 * of stopping at the first, so a client can fix a request in one go.
 */
final class JobSpecParser {

	static final com.acme.finetune.training.Hyperparameters DEFAULTS = com.acme.finetune.training.Hyperparameters
		.defaults();

	private static final String SCRATCH = "resnet50-scratch";

	private static final Pattern DEVICE = Pattern.compile("auto|cpu|gpu|gpu:\\d{1,2}");

	private final List<Map<String, String>> violations = new ArrayList<>();

	private JobSpecParser() {
	}

	/**
	 * The parsed spec and what was wrong with the body; the spec is null when anything
	 * was.
	 */
	record Result(JobSpec spec, List<Map<String, String>> violations) {
	}

	static Result parse(JsonNode body) {
		JobSpecParser parser = new JobSpecParser();
		JobSpec spec = parser.root(body);
		return new Result(parser.violations.isEmpty() ? spec : null, List.copyOf(parser.violations));
	}

	private JobSpec root(JsonNode body) {
		if (body == null || !body.isObject()) {
			violation("", "the body must be a JSON object");
			return null;
		}
		unknownFields(body, "", Set.of("datasetId", "baseModel", "freeze", "hyperparameters", "device",
				"timeoutMinutes", "callbackUrl", "register", "trainOn", "precision"));
		UUID datasetId = null;
		JsonNode dataset = body.get("datasetId");
		if (dataset == null || dataset.isNull()) {
			violation("datasetId", "is required");
		}
		else if (!dataset.isString()) {
			// asString() on an object or array throws: check the type like every other
			// field
			violation("datasetId", "must be a UUID string");
		}
		else {
			try {
				datasetId = UUID.fromString(dataset.asString());
			}
			catch (IllegalArgumentException ex) {
				violation("datasetId", "must be a UUID");
			}
		}
		String baseModel = text(body, "baseModel", "resnet50-imagenet");
		if (baseModel != null && (baseModel.isBlank() || baseModel.length() > 200)) {
			violation("baseModel", "must be a backbone id or model:<id>");
		}
		JobSpec.Hyperparameters hyperparameters = hyperparameters(object(body, "hyperparameters"));
		JobSpec.Freeze freeze = freeze(object(body, "freeze"), baseModel, hyperparameters.epochs());
		String device = text(body, "device", "auto");
		if (device != null && !DEVICE.matcher(device).matches()) {
			violation("device", "must be one of auto, cpu, gpu, gpu:N");
		}
		int timeout = integer(body, "timeoutMinutes", "timeoutMinutes", 240, 1, 7 * 24 * 60);
		String callbackUrl = text(body, "callbackUrl", null);
		if (callbackUrl != null && !callbackUrl.matches("https?://\\S+")) {
			violation("callbackUrl", "must be an http(s) URL");
		}
		Registration register = register(object(body, "register"));
		String trainOn = text(body, "trainOn", JobSpec.TRAIN);
		if (trainOn != null && !JobSpec.TRAIN.equals(trainOn) && !JobSpec.TRAIN_AND_VALIDATION.equals(trainOn)) {
			violation("trainOn", "must be one of " + JobSpec.TRAIN + ", " + JobSpec.TRAIN_AND_VALIDATION);
		}
		else if (JobSpec.TRAIN_AND_VALIDATION.equals(trainOn) && hyperparameters.earlyStopping().patience() > 0) {
			// nothing is held out to stop on
			violation("hyperparameters.earlyStopping.patience",
					"must be 0 with trainOn " + JobSpec.TRAIN_AND_VALIDATION + ": no validation split is held out");
		}
		String precision = text(body, "precision", JobSpec.AUTO);
		if (precision != null && !List.of(JobSpec.AUTO, "fp32", "bf16").contains(precision)) {
			violation("precision", "must be one of auto, fp32, bf16");
		}
		return new JobSpec(datasetId, baseModel, freeze, hyperparameters, device, timeout, callbackUrl, register,
				trainOn, precision);
	}

	/**
	 * {@code {name, aliases[], description, tags{}}}: the model becomes the next version
	 * of {@code name} when the job succeeds.
	 */
	private Registration register(JsonNode node) {
		if (node == null) {
			return null;
		}
		String p = "register.";
		unknownFields(node, p, Set.of("name", "aliases", "description", "tags"));
		JsonNode nameNode = node.get("name");
		boolean nameIsText = nameNode == null || nameNode.isNull() || nameNode.isString();
		if (!nameIsText) {
			violation(p + "name", "must be a string");
		}
		String name = (nameNode != null && nameNode.isString()) ? nameNode.asString() : null;
		List<String> aliases = new ArrayList<>();
		JsonNode aliasesNode = node.get("aliases");
		if (aliasesNode != null && !aliasesNode.isNull()) {
			if (!aliasesNode.isArray()) {
				violation(p + "aliases", "must be an array of strings");
			}
			else {
				for (int i = 0; i < aliasesNode.size(); i++) {
					JsonNode alias = aliasesNode.get(i);
					if (!alias.isString()) {
						violation(p + "aliases[" + i + "]", "must be a string");
					}
					else {
						aliases.add(alias.asString());
					}
				}
			}
		}
		String description = null;
		JsonNode descriptionNode = node.get("description");
		if (descriptionNode != null && !descriptionNode.isNull()) {
			if (descriptionNode.isString()) {
				description = descriptionNode.asString();
			}
			else {
				violation(p + "description", "must be a string");
			}
		}
		Map<String, String> tags = null;
		JsonNode tagsNode = object(node, "tags", p + "tags");
		if (tagsNode != null) {
			tags = new LinkedHashMap<>();
			for (Map.Entry<String, JsonNode> tag : tagsNode.properties()) {
				if (!tag.getValue().isString()) {
					violation(p + "tags." + tag.getKey(), "must be a string");
				}
				else {
					tags.put(tag.getKey(), tag.getValue().asString());
				}
			}
		}
		Registration registration = new Registration(name, aliases, description, tags);
		if (nameIsText) {
			RegistryNames.check(registration, p, this::violation);
		}
		else {
			RegistryNames.checkDetails(aliases, description, tags, p, this::violation);
		}
		return registration;
	}

	/**
	 * The freeze settings: {@code upTo} defaults to the seed's {@code layer4}, except
	 * from {@code resnet50-scratch} (freezing random weights is never wanted):
	 * {@code none}; a schedule's first phase is the {@code upTo}.
	 */
	private JobSpec.Freeze freeze(JsonNode node, String baseModel, int epochs) {
		String defaultUpTo = SCRATCH.equals(baseModel) ? Stage.NONE.id() : Stage.LAYER4.id();
		if (node == null) {
			return new JobSpec.Freeze(defaultUpTo, BatchNormMode.AUTO.id(), null);
		}
		unknownFields(node, "freeze.", Set.of("upTo", "batchNorm", "schedule"));
		String batchNorm = choice(node, "batchNorm", "freeze.batchNorm", BatchNormMode.AUTO.id(),
				BatchNormMode.values(), BatchNormMode::id);
		List<JobSpec.FreezePhase> schedule = schedule(node.get("schedule"), epochs);
		String upTo = choice(node, "upTo", "freeze.upTo", (schedule != null) ? schedule.get(0).upTo() : defaultUpTo,
				Stage.values(), Stage::id);
		if (schedule != null && node.hasNonNull("upTo") && !schedule.get(0).upTo().equals(upTo)) {
			violation("freeze.upTo",
					"must be the schedule's first upTo (" + schedule.get(0).upTo() + ") or be left out");
		}
		return new JobSpec.Freeze(upTo, batchNorm, schedule);
	}

	/**
	 * {@code [{"epoch": 0, "upTo": "layer4"}, {"epoch": 2, "upTo": "layer3"}, …]}: starts
	 * at epoch 0, epochs increase and stay below the run's, each phase unfreezes more.
	 */
	private List<JobSpec.FreezePhase> schedule(JsonNode node, int epochs) {
		if (node == null || node.isNull()) {
			return null;
		}
		String path = "freeze.schedule";
		if (!node.isArray() || node.isEmpty() || node.size() > Stage.values().length) {
			violation(path, "must be an array of 1 to " + Stage.values().length + " phases {epoch, upTo}");
			return null;
		}
		List<JobSpec.FreezePhase> phases = new ArrayList<>();
		int before = violations.size();
		for (int i = 0; i < node.size(); i++) {
			JsonNode phase = node.get(i);
			String at = path + "[" + i + "]";
			if (!phase.isObject()) {
				violation(at, "must be an object {epoch, upTo}");
				continue;
			}
			unknownFields(phase, at + ".", Set.of("epoch", "upTo"));
			if (!phase.hasNonNull("epoch") || !phase.hasNonNull("upTo")) {
				violation(at, "needs epoch and upTo");
				continue;
			}
			int epoch = integer(phase, "epoch", at + ".epoch", -1, 0, Math.max(0, epochs - 1));
			String upTo = choice(phase, "upTo", at + ".upTo", null, Stage.values(), Stage::id);
			if (epoch < 0 || upTo == null) {
				continue;
			}
			if (i == 0 && epoch != 0) {
				violation(at + ".epoch", "the first phase starts at epoch 0");
			}
			if (!phases.isEmpty()) {
				JobSpec.FreezePhase last = phases.get(phases.size() - 1);
				if (epoch <= last.epoch()) {
					violation(at + ".epoch", "must be greater than the previous phase's epoch " + last.epoch());
				}
				if (Stage.parse(upTo).ordinal() >= Stage.parse(last.upTo()).ordinal()) {
					violation(at + ".upTo", "must freeze fewer stages than the previous phase (" + last.upTo() + ")");
				}
			}
			phases.add(new JobSpec.FreezePhase(epoch, upTo));
		}
		return (violations.size() == before) ? List.copyOf(phases) : null;
	}

	/** Per-stage multipliers of the learning rate; unlisted stages keep ×1. */
	private Map<String, Double> stageLearningRates(JsonNode parent, String path) {
		JsonNode node = object(parent, "stageLearningRates", path);
		if (node == null) {
			return null;
		}
		Map<String, Double> rates = new LinkedHashMap<>();
		for (Iterator<String> names = node.propertyNames().iterator(); names.hasNext();) {
			String name = names.next();
			if (!List.of(StageLearningRates.STAGE_IDS).contains(name)) {
				violation(path + "." + name, "unknown stage: use " + String.join(", ", StageLearningRates.STAGE_IDS));
				continue;
			}
			double value = number(node, name, path + "." + name, -1, 0, 100, true);
			if (value >= 0) {
				rates.put(name, value);
			}
		}
		return rates;
	}

	private JobSpec.Hyperparameters hyperparameters(JsonNode node) {
		com.acme.finetune.training.Hyperparameters d = DEFAULTS;
		JsonNode n = (node != null) ? node : tools.jackson.databind.node.JsonNodeFactory.instance.objectNode();
		String p = "hyperparameters.";
		unknownFields(n, p,
				Set.of("epochs", "batchSize", "learningRate", "optimizer", "momentum", "weightDecay", "lrSchedule",
						"imageSize", "augmentation", "labelSmoothing", "classWeights", "seed", "earlyStopping",
						"warmupEpochs", "stageLearningRates", "layerDecay"));
		int epochs = integer(n, "epochs", p + "epochs", d.epochs(), 1, 1000);
		int batchSize = integer(n, "batchSize", p + "batchSize", d.batchSize(), 1, 1024);
		double lr = number(n, "learningRate", p + "learningRate", d.learningRate(), 1e-8, 10, false);
		String optimizer = choice(n, "optimizer", p + "optimizer", d.optimizer().id(), Optimizer.values(),
				Optimizer::id);
		double momentum = number(n, "momentum", p + "momentum", d.momentum(), 0, 1, true);
		double weightDecay = number(n, "weightDecay", p + "weightDecay", d.weightDecay(), 0, 1, true);
		String schedule = choice(n, "lrSchedule", p + "lrSchedule", d.lrSchedule().id(), LrSchedule.values(),
				LrSchedule::id);
		int imageSize = integer(n, "imageSize", p + "imageSize", d.imageSize(), 32, 1024);
		String augmentation = choice(n, "augmentation", p + "augmentation", d.augmentation().id(),
				Augmentation.values(), Augmentation::id);
		double smoothing = number(n, "labelSmoothing", p + "labelSmoothing", d.labelSmoothing(), 0, 0.99, true);
		String classWeights = choice(n, "classWeights", p + "classWeights", d.classWeights().id(),
				ClassWeights.values(), ClassWeights::id);
		long seed = longValue(n, "seed", p + "seed", d.seed());
		JsonNode es = object(n, "earlyStopping", p + "earlyStopping");
		int patience = d.earlyStopping().patience();
		String metric = d.earlyStopping().metric().id();
		if (es != null) {
			unknownFields(es, p + "earlyStopping.", Set.of("patience", "metric"));
			patience = integer(es, "patience", p + "earlyStopping.patience", patience, 0, 1000);
			metric = choice(es, "metric", p + "earlyStopping.metric", metric, EarlyStoppingMetric.values(),
					EarlyStoppingMetric::id);
		}
		double warmup = number(n, "warmupEpochs", p + "warmupEpochs", d.warmupEpochs(), 0, epochs, true);
		Map<String, Double> stageRates = stageLearningRates(n, p + "stageLearningRates");
		Double layerDecay = null;
		if (n.hasNonNull("layerDecay")) {
			double value = number(n, "layerDecay", p + "layerDecay", -1, 0, 1, false);
			layerDecay = (value > 0) ? value : null;
			if (stageRates != null) {
				violation(p + "layerDecay", "cannot be combined with stageLearningRates: choose one");
			}
		}
		return new JobSpec.Hyperparameters(epochs, batchSize, lr, optimizer, momentum, weightDecay, schedule, imageSize,
				augmentation, smoothing, classWeights, seed, new JobSpec.EarlyStopping(patience, metric), warmup,
				stageRates, layerDecay);
	}

	private void unknownFields(JsonNode node, String prefix, Set<String> known) {
		for (Iterator<String> names = node.propertyNames().iterator(); names.hasNext();) {
			String name = names.next();
			if (!known.contains(name)) {
				violation(prefix + name, "unknown field");
			}
		}
	}

	private JsonNode object(JsonNode parent, String name) {
		return object(parent, name, name);
	}

	private JsonNode object(JsonNode parent, String name, String path) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return null;
		}
		if (!node.isObject()) {
			violation(path, "must be an object");
			return null;
		}
		return node;
	}

	private String text(JsonNode parent, String name, String fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isString()) {
			violation(name, "must be a string");
			return fallback;
		}
		return node.asString();
	}

	private <E> String choice(JsonNode parent, String name, String path, String fallback, E[] values,
			Function<E, String> id) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		List<String> allowed = java.util.Arrays.stream(values).map(id).toList();
		if (!node.isString() || !allowed.contains(node.asString())) {
			violation(path, "must be one of " + String.join(", ", allowed));
			return fallback;
		}
		return node.asString();
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

	private long longValue(JsonNode parent, String name, String path, long fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isIntegralNumber() || !node.canConvertToLong()) {
			violation(path, "must be an integer");
			return fallback;
		}
		return node.asLong();
	}

	private double number(JsonNode parent, String name, String path, double fallback, double min, double max,
			boolean minInclusive) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isNumber()) {
			violation(path, "must be a number");
			return fallback;
		}
		double value = node.asDouble();
		boolean aboveMin = minInclusive ? value >= min : value > min;
		if (!aboveMin || value > max || Double.isNaN(value)) {
			violation(path,
					"must be " + (minInclusive ? "between " + min : "greater than " + min) + " and at most " + max);
			return fallback;
		}
		return value;
	}

	private void violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		this.violations.add(v);
	}

}
