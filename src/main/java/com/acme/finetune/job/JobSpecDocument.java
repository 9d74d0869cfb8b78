package com.acme.finetune.job;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The job spec as the OpenAPI document describes it, for generated clients: enums, ranges
 * and defaults. Documentation only: the service reads the body with
 * {@link JobSpecParser}, which lists every violation at once; keep the two in step (the
 * client test in the build submits a spec through this schema).
 */
@Schema(name = "JobSpec", description = "A fine-tuning job. Unknown fields and out-of-range values are a 400 "
		+ "listing every violation in errors[]; omitted fields take the defaults shown.")
record JobSpecDocument(
		@Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "The dataset to train on") UUID datasetId,
		@Schema(defaultValue = "resnet50-imagenet", maxLength = 200,
				description = "A backbone id (GET /backbones) or model:<id> to start from a fine-tuned model",
				example = "resnet50-scratch") String baseModel,
		Freeze freeze, Hyperparameters hyperparameters,
		@Schema(defaultValue = "auto", pattern = "^(auto|cpu|gpu|gpu:[0-9]+)$",
				description = "auto, cpu, gpu or gpu:N") String device,
		@Schema(defaultValue = "240", minimum = "1", maximum = "10080") Integer timeoutMinutes,
		@Schema(format = "uri", pattern = "^https?://\\S+$",
				description = "Receives the job on each terminal status (Standard Webhooks signature)") String callbackUrl,
		Register register, @Schema(allowableValues = {
				"train", "train+validation" }, defaultValue = "train",
				description = "The images the job trains on: the dataset's training split (its validation split "
						+ "scores each epoch), or both splits with nothing held out: then the epochs' "
						+ "validation metrics are null, exactly hyperparameters.epochs epochs train (earlyStopping "
						+ "patience must be 0) and the last epoch's weights are the model (what a sweep's refit "
						+ "runs)") String trainOn,
		@Schema(allowableValues = { "auto", "fp32", "bf16" }, defaultValue = "auto",
				description = "The precision the job trains in and its model serves in. auto: bfloat16 where "
						+ "the CPU has native bf16 (avx512_bf16 or AMX), fp32 otherwise; bf16: also without "
						+ "native bf16. Training: bf16 mixed precision (convolutions and activations in bf16; "
						+ "BatchNorm statistics, head, loss, optimizer and weights in fp32) for resnet50-scratch "
						+ "and models fine-tuned from it on CPUs; TorchScript backbones and GPUs train in fp32. Serving: bf16 for ResNet-50s once a probe batch of "
						+ "the model's own validation images gives the same top-1 in bf16 as in fp32 with clear "
						+ "margins. jobs:validate shows what it resolves to; the job's finalMetrics."
						+ "trainingPrecision what the run trained in.") String precision){

	@Schema(name = "JobSpecFreeze", description = "Which stages are frozen")
	record Freeze(@Schema(allowableValues = {
			"none", "stem", "layer1", "layer2", "layer3", "layer4" }, defaultValue = "layer4",
			description = "Everything up to and including this stage is frozen; none with resnet50-scratch") String upTo,
			@Schema(allowableValues = { "auto", "frozen", "train" }, defaultValue = "auto") String batchNorm,
			@Schema(description = "Gradual unfreezing: 1 to 6 phases, by epoch") @io.swagger.v3.oas.annotations.media.ArraySchema(
					maxItems = 6) List<Phase> schedule){
	}

	@Schema(name = "JobSpecFreezePhase")
	record Phase(
			@Schema(minimum = "0", requiredMode = Schema.RequiredMode.REQUIRED,
					description = "From this many completed epochs on") Integer epoch,
			@Schema(allowableValues = {
					"none", "stem", "layer1", "layer2", "layer3", "layer4" },
					requiredMode = Schema.RequiredMode.REQUIRED) String upTo){
	}

	@Schema(name = "JobSpecHyperparameters")
	record Hyperparameters(@Schema(defaultValue = "10", minimum = "1", maximum = "1000") Integer epochs,
			@Schema(defaultValue = "32", minimum = "1", maximum = "1024") Integer batchSize,
			@Schema(defaultValue = "0.001", minimum = "0.00000001", maximum = "10") Double learningRate,
			@Schema(allowableValues = {
					"sgd", "adam", "adamw" }, defaultValue = "sgd") String optimizer,
			@Schema(defaultValue = "0.9", minimum = "0", maximum = "1") Double momentum,
			@Schema(defaultValue = "0.0", minimum = "0", maximum = "1") Double weightDecay,
			@Schema(allowableValues = { "constant", "step", "cosine" }, defaultValue = "constant") String lrSchedule,
			@Schema(defaultValue = "224", minimum = "32", maximum = "1024") Integer imageSize,
			@Schema(allowableValues = { "none", "flip", "flip-crop" }, defaultValue = "none") String augmentation,
			@Schema(defaultValue = "0.0", minimum = "0", maximum = "0.99") Double labelSmoothing,
			@Schema(allowableValues = { "none", "balanced" }, defaultValue = "none") String classWeights,
			@Schema(defaultValue = "42") Long seed, EarlyStopping earlyStopping,
			@Schema(defaultValue = "0", minimum = "0",
					description = "Linear warm-up from 0, at most epochs") Double warmupEpochs,
			@Schema(description = "Multipliers of learningRate by stage (stem, layer1..layer4, head), each 0 to 100") Map<String, Double> stageLearningRates,
			@Schema(minimum = "0", maximum = "1", exclusiveMinimum = true,
					description = "head x1, layer4 xd, layer3 xd^2 ...") Double layerDecay){
	}

	@Schema(name = "JobSpecEarlyStopping")
	record EarlyStopping(
			@Schema(defaultValue = "0", minimum = "0", maximum = "1000",
					description = "Epochs without improvement before stopping; 0 = never") Integer patience,
			@Schema(allowableValues = {
					"valLoss", "valAccuracy" }, defaultValue = "valLoss") String metric){
	}

	@Schema(name = "JobSpecRegister", description = "Register the model under this name when the job succeeds")
	record Register(@Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name, List<String> aliases,
			String description, Map<String, String> tags) {
	}

	/** The example in the document. */
	static final String EXAMPLE = """
			{"datasetId": "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "baseModel": "resnet50-scratch",
			 "freeze": {"upTo": "none"},
			 "hyperparameters": {"epochs": 1, "batchSize": 8, "imageSize": 32, "learningRate": 0.01},
			 "device": "cpu"}""";

}
