package com.acme.finetune.job;

import java.util.Map;

import com.acme.finetune.backbone.BackboneCatalog;
import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.ParameterCounts;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;

import org.springframework.stereotype.Component;

/**
 * {@code POST /jobs:validate}: what a job would do, without running it.
 */
@Component
class JobValidator {

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

	JobValidator(JobService jobs, DatasetService datasets, BackboneCatalog backbones, DjlRuntime djl) {
		this.jobs = jobs;
		this.datasets = datasets;
		this.backbones = backbones;
		this.djl = djl;
	}

	record Validation(JobSpec spec, Map<String, Integer> split, Parameters parameters, EmbeddingCache embeddingCache,
			double estimatedEpochSeconds) {
	}

	record Parameters(long total, long trainable, long frozen, Map<String, ParameterCounts.StageCount> byStage) {
	}

	record EmbeddingCache(boolean applies, String reason) {
	}

	Validation validate(JsonNode body) {
		JobSpec spec = this.jobs.check(body);
		BaseModel base = this.backbones.resolve(spec.baseModel());
		TrainingData data = this.datasets.trainingData(spec.datasetId());
		Stage upTo = Stage.parse(spec.freeze().upTo());
		ParameterCounts counts = countParameters(base, upTo, data.labels().size());
		FineTuner.CacheDecision cache = FineTuner.embeddingCache(counts,
				JobSpecs.hyperparameters(spec.hyperparameters()));
		return new Validation(spec, Map.of("train", data.train().size(), "validation", data.validation().size()),
				new Parameters(counts.total(), counts.trainable(), counts.frozen(), counts.byStage()),
				new EmbeddingCache(cache.applies(), cache.reason()), estimateEpochSeconds(spec, upTo, data));
	}

	/**
	 * An uploaded backbone's counts come from its inspection: its graph only runs in the
	 * sandbox. Other bases are the built-in ResNet-50s (counted without loading) or
	 * models whose accepted artifact is loaded here, without running it.
	 */
	private ParameterCounts countParameters(BaseModel base, Stage upTo, int numClasses) {
		if (base.kind() == BaseModel.Kind.TORCHSCRIPT) {
			return FineTuner.countParameters(this.backbones.inspection(base.id()), upTo, numClasses);
		}
		this.djl.engine();
		try {
			return new FineTuner().countParameters(base, upTo, numClasses);
		}
		catch (InvalidBackboneException ex) {
			throw new ApiException(ProblemType.INVALID_MODEL_FILE, ex.getMessage());
		}
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
