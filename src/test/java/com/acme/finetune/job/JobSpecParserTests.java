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
		assertThat(spec.freeze()).isEqualTo(new JobSpec.Freeze("layer4", "frozen"));
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
