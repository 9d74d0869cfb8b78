package com.acme.finetune.job;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

class JobSpecParserTests {

	private static final JsonMapper JSON = JsonMapper.builder().build();

	@Test
	void fillsInTheSeedRecipe() {
		JobSpecParser.Result result = parse("{\"datasetId\":\"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\"}");
		assertThat(result.violations()).isEmpty();
		JobSpec spec = result.spec();
		assertThat(spec.baseModel()).isEqualTo("resnet50-imagenet");
		assertThat(spec.freeze()).isEqualTo(new JobSpec.Freeze("layer4", "auto"));
		assertThat(spec.hyperparameters().epochs()).isEqualTo(10);
		assertThat(spec.hyperparameters().batchSize()).isEqualTo(32);
		assertThat(spec.hyperparameters().learningRate()).isEqualTo(0.001);
		assertThat(spec.hyperparameters().optimizer()).isEqualTo("sgd");
		assertThat(spec.hyperparameters().momentum()).isEqualTo(0.9);
		assertThat(spec.hyperparameters().imageSize()).isEqualTo(224);
		assertThat(spec.hyperparameters().augmentation()).isEqualTo("none");
		assertThat(spec.hyperparameters().seed()).isEqualTo(42);
		assertThat(spec.hyperparameters().earlyStopping()).isEqualTo(new JobSpec.EarlyStopping(0, "valLoss"));
		assertThat(spec.device()).isEqualTo("auto");
		assertThat(spec.timeoutMinutes()).isEqualTo(240);
		assertThat(JobSpecs.hyperparameters(spec.hyperparameters()))
			.isEqualTo(com.acme.finetune.training.Hyperparameters.defaults());
	}

	@Test
	void trainOnFoldsTheValidationSplitIntoTraining() {
		String dataset = "\"datasetId\":\"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\"";
		assertThat(parse("{" + dataset + "}").spec().trainOn()).isEqualTo("train");
		JobSpec both = parse("{" + dataset + ",\"trainOn\":\"train+validation\"}").spec();
		assertThat(both.trainsOnValidation()).isTrue();
		java.nio.file.Path a = java.nio.file.Path.of("a.png");
		java.nio.file.Path b = java.nio.file.Path.of("b.png");
		com.acme.finetune.training.TrainingData data = new com.acme.finetune.training.TrainingData("k",
				List.of("x", "y"), List.of(new com.acme.finetune.training.TrainingData.Sample(a, 0)),
				List.of(new com.acme.finetune.training.TrainingData.Sample(b, 1)));
		com.acme.finetune.training.TrainingData folded = JobSpecs.trainingData(both, data);
		assertThat(folded.train()).extracting(com.acme.finetune.training.TrainingData.Sample::image)
			.containsExactly(a, b);
		assertThat(folded.validation()).isEmpty();
		assertThat(folded.key()).isNotEqualTo(data.key());
		assertThat(JobSpecs.trainingData(parse("{" + dataset + "}").spec(), data)).isSameAs(data);
		// a spec stored before the field existed trains on the training split
		assertThat(new JobSpec(both.datasetId(), both.baseModel(), both.freeze(), both.hyperparameters(), both.device(),
				both.timeoutMinutes(), null, null, null)
			.trainOn()).isEqualTo("train");

		assertThat(parse("{" + dataset + ",\"trainOn\":\"validation\"}").violations())
			.containsExactly(Map.of("field", "trainOn", "message", "must be one of train, train+validation"));
		assertThat(parse("{" + dataset
				+ ",\"trainOn\":\"train+validation\",\"hyperparameters\":{\"earlyStopping\":{\"patience\":3}}}")
			.violations()).extracting((v) -> v.get("field")).containsExactly("hyperparameters.earlyStopping.patience");
	}

	@Test
	void aScratchBaseTrainsEverythingUnlessToldOtherwise() {
		String dataset = "\"datasetId\":\"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\"";
		JobSpec omitted = parse("{" + dataset + ",\"baseModel\":\"resnet50-scratch\"}").spec();
		assertThat(omitted.freeze()).isEqualTo(new JobSpec.Freeze("none", "auto"));
		JobSpec onlyBatchNorm = parse(
				"{" + dataset + ",\"baseModel\":\"resnet50-scratch\",\"freeze\":{\"batchNorm\":\"train\"}}")
			.spec();
		assertThat(onlyBatchNorm.freeze()).isEqualTo(new JobSpec.Freeze("none", "train"));
		JobSpec explicit = parse(
				"{" + dataset + ",\"baseModel\":\"resnet50-scratch\",\"freeze\":{\"upTo\":\"layer2\"}}")
			.spec();
		assertThat(explicit.freeze().upTo()).isEqualTo("layer2");
		assertThat(parse("{" + dataset + ",\"baseModel\":\"model:x\"}").spec().freeze().upTo()).isEqualTo("layer4");
	}

	@Test
	void recipesParseAndResolve() {
		JobSpecParser.Result result = parse(
				"""
						{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11",
						 "freeze": {"schedule": [{"epoch": 0, "upTo": "layer4"}, {"epoch": 2, "upTo": "layer3"},
						                         {"epoch": 4, "upTo": "layer2"}]},
						 "hyperparameters": {"epochs": 6, "warmupEpochs": 0.5, "stageLearningRates": {"layer3": 0.1, "layer4": 0.3}}}
						""");
		assertThat(result.violations()).isEmpty();
		JobSpec spec = result.spec();
		assertThat(spec.freeze().upTo()).isEqualTo("layer4");
		assertThat(spec.freeze().schedule()).containsExactly(new JobSpec.FreezePhase(0, "layer4"),
				new JobSpec.FreezePhase(2, "layer3"), new JobSpec.FreezePhase(4, "layer2"));
		com.acme.finetune.training.Hyperparameters hp = JobSpecs.hyperparameters(spec.hyperparameters());
		assertThat(hp.warmupEpochs()).isEqualTo(0.5);
		assertThat(hp.stageLearningRates().multiplier("layer3")).isEqualTo(0.1);
		assertThat(hp.stageLearningRates().multiplier("head")).isEqualTo(1.0);
		assertThat(JobSpecs.schedule(spec).phaseAt(3).upTo()).isEqualTo(com.acme.finetune.training.Stage.LAYER3);
		JobSpec decay = parse("""
				{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11", "hyperparameters": {"layerDecay": 0.5}}
				""").spec();
		assertThat(JobSpecs.hyperparameters(decay.hyperparameters()).stageLearningRates().multiplier("layer3"))
			.isEqualTo(0.25);
	}

	@Test
	void badRecipesListEveryViolation() {
		JobSpecParser.Result result = parse(
				"""
						{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11",
						 "freeze": {"upTo": "layer3", "schedule": [{"epoch": 1, "upTo": "layer4"}, {"epoch": 1, "upTo": "layer4"},
						                         {"epoch": 99, "upTo": "layer9"}, 3]},
						 "hyperparameters": {"epochs": 4, "warmupEpochs": 5, "stageLearningRates": {"layer7": 1, "head": -1},
						                     "layerDecay": 0}}
						""");
		assertThat(result.spec()).isNull();
		assertThat(result.violations()).extracting((v) -> v.get("field"))
			.contains("freeze.schedule[0].epoch", "freeze.schedule[1].epoch", "freeze.schedule[1].upTo",
					"freeze.schedule[2].epoch", "freeze.schedule[2].upTo", "freeze.schedule[3]",
					"hyperparameters.warmupEpochs", "hyperparameters.stageLearningRates.layer7",
					"hyperparameters.stageLearningRates.head", "hyperparameters.layerDecay");
		JobSpecParser.Result both = parse("""
				{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11",
				 "hyperparameters": {"stageLearningRates": {"head": 1}, "layerDecay": 0.5}}
				""");
		assertThat(both.violations()).extracting((v) -> v.get("field")).containsExactly("hyperparameters.layerDecay");
	}

	@Test
	void listsEveryViolation() {
		JobSpecParser.Result result = parse("""
				{"datasetId": "nope", "colour": "red",
				 "freeze": {"upTo": "layer9", "batchNorm": "maybe", "extra": 1},
				 "hyperparameters": {"epochs": 0, "batchSize": "big", "learningRate": -1, "optimizer": "lion",
				   "momentum": 2, "lrSchedule": "linear", "imageSize": 8, "augmentation": "mixup",
				   "labelSmoothing": 1.5, "classWeights": "auto", "seed": 1.5,
				   "earlyStopping": {"patience": -1, "metric": "f1"}},
				 "device": "tpu", "timeoutMinutes": 0, "callbackUrl": "ftp://x"}
				""");
		assertThat(result.spec()).isNull();
		assertThat(result.violations()).extracting((v) -> v.get("field"))
			.containsExactlyInAnyOrder("datasetId", "colour", "freeze.upTo", "freeze.batchNorm", "freeze.extra",
					"hyperparameters.epochs", "hyperparameters.batchSize", "hyperparameters.learningRate",
					"hyperparameters.optimizer", "hyperparameters.momentum", "hyperparameters.lrSchedule",
					"hyperparameters.imageSize", "hyperparameters.augmentation", "hyperparameters.labelSmoothing",
					"hyperparameters.classWeights", "hyperparameters.seed", "hyperparameters.earlyStopping.patience",
					"hyperparameters.earlyStopping.metric", "device", "timeoutMinutes", "callbackUrl");
		assertThat(result.violations()).allSatisfy((v) -> assertThat(v.get("message")).isNotBlank());
	}

	@Test
	void missingDatasetAndNonObjectBody() {
		assertThat(parse("{}").violations()).containsExactly(Map.of("field", "datasetId", "message", "is required"));
		assertThat(parse("[1,2]").violations()).hasSize(1);
	}

	@Test
	void acceptsEveryDocumentedChoice() {
		for (String upTo : List.of("none", "stem", "layer1", "layer2", "layer3", "layer4")) {
			for (String schedule : List.of("constant", "step", "cosine")) {
				for (String augmentation : List.of("none", "flip", "flip-crop")) {
					JobSpecParser.Result result = parse("{\"datasetId\":\"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\","
							+ "\"baseModel\":\"resnet50-scratch\",\"device\":\"gpu:1\",\"freeze\":{\"upTo\":\"" + upTo
							+ "\",\"batchNorm\":\"train\"},\"hyperparameters\":{\"optimizer\":\"adamw\","
							+ "\"lrSchedule\":\"" + schedule + "\",\"augmentation\":\"" + augmentation
							+ "\",\"classWeights\":\"balanced\",\"earlyStopping\":{\"metric\":\"valAccuracy\"}}}");
					assertThat(result.violations()).isEmpty();
					JobSpecs.hyperparameters(result.spec().hyperparameters());
				}
			}
		}
	}

	@Test
	void registerNamesTheRegisteredModelAndItsAliases() {
		JobSpecParser.Result result = parse("""
				{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11",
				 "register": {"name": "defects", "aliases": ["staging", "canary"], "description": "Weld defects",
				   "tags": {"team": "qa"}}}
				""");
		assertThat(result.violations()).isEmpty();
		assertThat(result.spec().register()).isEqualTo(new com.acme.finetune.registry.Registration("defects",
				List.of("staging", "canary"), "Weld defects", Map.of("team", "qa")));
		assertThat(parse("{\"datasetId\": \"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\"}").spec().register()).isNull();
	}

	@Test
	void registerIsValidatedWithTheRestOfTheSpec() {
		JobSpecParser.Result result = parse("""
				{"datasetId": "6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11",
				 "register": {"name": "Defects_v2", "aliases": ["ok", "Not OK", 3], "description": 5,
				   "tags": {"team": 1}, "stage": "prod"}}
				""");
		assertThat(result.spec()).isNull();
		assertThat(result.violations()).extracting((v) -> v.get("field"))
			.containsExactlyInAnyOrder("register.stage", "register.name", "register.aliases[1]", "register.aliases[2]",
					"register.description", "register.tags.team");
		assertThat(parse("{\"datasetId\": \"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\", \"register\": {}}").violations())
			.containsExactly(Map.of("field", "register.name", "message", "is required"));
		assertThat(parse("{\"datasetId\": \"6f1c1f2e-9a51-4c1d-8f38-1f0c3e5a2b11\", \"register\": \"defects\"}")
			.violations()).extracting((v) -> v.get("field")).containsExactly("register");
	}

	private static JobSpecParser.Result parse(String json) {
		JsonNode node = JSON.readTree(json);
		return JobSpecParser.parse(node);
	}

}
