package com.acme.finetune.job;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.backbone.BackboneCatalog;
import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.djl.Bf16Support;
import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.training.BackboneInfo;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.ParameterCounts;
import com.acme.finetune.training.RecipePlan;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.StageLearningRates;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingPrecision;
import com.acme.finetune.training.artifact.ServingPrecision;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;
import io.swagger.v3.oas.annotations.media.Schema;

import org.springframework.stereotype.Component;

/**
 * {@code POST /jobs:validate}: what a job would do, without running it.
 */
@Component
public class JobValidator {

	/**
	 * Training images/s of ResNet-50 at 224 px on a 2-core CPU by freeze bound (measured,
	 * see docs/benchmarks.md); index = {@link Stage#ordinal()}.
	 */
	private static final double[] CPU_TRAIN_IMAGES_PER_SECOND_224 = { 7.6, 8.0, 9.0, 12.0, 17.8, 22.9 };

	private static final double CPU_EVAL_IMAGES_PER_SECOND_224 = 24.0;

	/** A conservative speed-up of one data-centre GPU over the 2-core CPU figures. */
	private static final double GPU_SPEEDUP = 20.0;

	private final JobService jobs;

	private final DatasetService datasets;

	private final BackboneCatalog backbones;

	private final DjlRuntime djl;

	private final Bf16Support bf16;

	JobValidator(JobService jobs, DatasetService datasets, BackboneCatalog backbones, DjlRuntime djl,
			Bf16Support bf16) {
		this.jobs = jobs;
		this.datasets = datasets;
		this.backbones = backbones;
		this.djl = djl;
		this.bf16 = bf16;
	}

	/**
	 * @param parameters what the run trains at all (its last freeze phase)
	 * @param phases per freeze phase: trainable counts and BatchNorm per stage
	 */
	@Schema(name = "JobValidation")
	record Validation(JobSpec spec, Map<String, Integer> split, Parameters parameters, EmbeddingCache embeddingCache,
			BatchNorm batchNorm, LearningRates learningRates, List<Phase> phases, double estimatedEpochSeconds,
			Precision precision) {
	}

	/**
	 * What {@code precision} resolves to: training in bf16 mixed precision for the Java
	 * ResNet-50 on CPUs that have and pass bf16 ({@link TrainingPrecision}), else fp32;
	 * serving is decided again when the model is loaded (its probe images must agree).
	 */
	@Schema(name = "JobPrecision")
	record Precision(String requested, String training, String serving, String reason) {
	}

	record Parameters(long total, long trainable, long frozen, Map<String, ParameterCounts.StageCount> byStage) {

		static Parameters of(ParameterCounts counts) {
			return new Parameters(counts.total(), counts.trainable(), counts.frozen(), counts.byStage());
		}

	}

	record EmbeddingCache(boolean applies, String reason) {
	}

	/**
	 * What {@code batchNorm} resolved to: per stage in the first phase (each phase in
	 * {@code phases}), and why for this network.
	 */
	record BatchNorm(String mode, String network, Map<String, String> byStage, String reason) {
	}

	/** The learning rate of each stage: {@code learningRate} × multiplier. */
	record LearningRates(double base, double warmupEpochs, Double layerDecay, Map<String, Double> multipliers,
			Map<String, Double> byStage) {
	}

	record Phase(int phase, int fromEpoch, String upTo, Parameters parameters, Map<String, String> batchNorm,
			boolean embeddingCache) {
	}

	Validation validate(JsonNode body) {
		JobSpec spec = this.jobs.check(body);
		BaseModel base = this.backbones.resolve(spec.baseModel());
		TrainingData data = JobSpecs.trainingData(spec, this.datasets.trainingData(spec.datasetId()));
		Stage upTo = Stage.parse(spec.freeze().upTo());
		this.djl.engine();
		Hyperparameters hp = JobSpecs.hyperparameters(spec.hyperparameters());
		// an uploaded graph is planned from its sandboxed inspection, never run here
		BackboneInfo inspected = (base.kind() == BaseModel.Kind.TORCHSCRIPT) ? this.backbones.inspection(base.id())
				: null;
		RecipePlan plan = new FineTuner().plan(base, inspected, data.labels().size(), JobSpecs.schedule(spec),
				JobSpecs.batchNorm(spec), hp.imageSize());
		RecipePlan.PhasePlan first = plan.phases().get(0);
		FineTuner.CacheDecision cache = FineTuner.embeddingCache(first.parameters(), hp);
		String cacheReason = cache.reason();
		if (cache.applies() && plan.phases().size() > 1) {
			int live = plan.phases().get(1).fromEpoch();
			cacheReason = "the head-only phase (epochs 1-" + (live - 1) + ") trains on cached features; live features "
					+ "take over from epoch " + live + ", when the first stage is unfrozen";
		}
		List<Phase> phases = plan.phases()
			.stream()
			.map((p) -> new Phase(p.phase(), p.fromEpoch(), p.upTo().id(), Parameters.of(p.parameters()), p.batchNorm(),
					cache.applies() && p.headOnly()))
			.toList();
		StageLearningRates rates = hp.stageLearningRates();
		Map<String, Double> byStage = new LinkedHashMap<>();
		rates.resolved().forEach((stage, m) -> byStage.put(stage, hp.learningRate() * m));
		return new Validation(spec, Map.of("train", data.train().size(), "validation", data.validation().size()),
				Parameters.of(plan.last().parameters()), new EmbeddingCache(cache.applies(), cacheReason),
				new BatchNorm(JobSpecs.batchNorm(spec).id(), plan.network(), first.batchNorm(), plan.batchNormReason()),
				new LearningRates(hp.learningRate(), hp.warmupEpochs(), rates.layerDecay(), rates.resolved(), byStage),
				phases, estimateEpochSeconds(spec, upTo, data), precision(spec, plan.network()));
	}

	private Precision precision(JobSpec spec, String network) {
		String requested = spec.precision();
		boolean gpu = !"cpu".equals(spec.device()) && this.djl.engine().getGpuCount() > 0;
		TrainingPrecision.Decision training = TrainingPrecision.decide(this.bf16.trainingPrecision(requested), network,
				gpu);
		String trained = "trains in " + training.precision() + " (" + training.reason() + ")";
		if (!this.bf16.enabled() || ServingPrecision.FP32.equals(ServingPrecision.requested(requested))) {
			return new Precision(requested, training.precision(), ServingPrecision.FP32, trained
					+ "; serves in fp32 (requested, or this service trains and serves fp32 only: app.djl.bf16)");
		}
		if (ServingPrecision.AUTO.equals(ServingPrecision.requested(requested)) && !this.bf16.cpuNative()) {
			return new Precision(requested, training.precision(), ServingPrecision.FP32,
					trained + "; this CPU has no native bf16 (avx512_bf16 or AMX), so auto serves in fp32 here");
		}
		String check = this.bf16.check();
		if (check != null) {
			return new Precision(requested, training.precision(), ServingPrecision.FP32,
					trained + "; bf16 serving is not available in this process: " + check);
		}
		return new Precision(requested, training.precision(), ServingPrecision.BF16,
				trained + "; serves in bf16 when it is loaded if it is a ResNet-50 (" + network
						+ " here; uploaded backbones only when they are torchvision's ResNet-50) on a CPU and "
						+ "its validation images get the same top-1 labels in bf16 as in fp32, else in fp32");
	}

	/**
	 * Seconds one epoch of a job body would take on this node, without planning its
	 * network (what sweeps ask for each trial they would run).
	 */
	public double estimateEpochSeconds(JsonNode body) {
		JobSpec spec = this.jobs.check(body);
		return estimateEpochSeconds(spec, Stage.parse(spec.freeze().upTo()),
				JobSpecs.trainingData(spec, this.datasets.trainingData(spec.datasetId())));
	}

	private double estimateEpochSeconds(JobSpec spec, Stage upTo, TrainingData data) {
		int size = spec.hyperparameters().imageSize();
		double scale = (224.0 * 224.0) / ((double) size * size) * (Runtime.getRuntime().availableProcessors() / 2.0);
		boolean gpu = !"cpu".equals(spec.device()) && this.djl.engine().getGpuCount() > 0;
		if (gpu) {
			scale *= GPU_SPEEDUP;
		}
		double train = CPU_TRAIN_IMAGES_PER_SECOND_224[upTo.ordinal()] * scale;
		double eval = CPU_EVAL_IMAGES_PER_SECOND_224 * scale;
		double seconds = data.train().size() / train + data.validation().size() / eval;
		return Math.ceil(seconds * 100) / 100.0;
	}

}
