package com.acme.finetune.job;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.FreezeSchedule;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.StageLearningRates;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingRequest;

/** Maps the API's {@link JobSpec} onto the training core's request. */
final class JobSpecs {

	private JobSpecs() {
	}

	static TrainingRequest trainingRequest(JobSpec spec, BaseModel base, Path outputDir, Path cacheDir) {
		return new TrainingRequest(base, Stage.parse(spec.freeze().upTo()), batchNorm(spec),
				hyperparameters(spec.hyperparameters()), spec.device(), outputDir, cacheDir, schedule(spec), null);
	}

	/**
	 * The images a job trains on: the dataset's splits as they are, or, for
	 * {@code trainOn: train+validation}, both splits in training and none held out (under
	 * a key of its own, so caches of the split set are not mixed up with it).
	 */
	static TrainingData trainingData(JobSpec spec, TrainingData data) {
		if (!spec.trainsOnValidation()) {
			return data;
		}
		List<TrainingData.Sample> all = new ArrayList<>(data.train());
		all.addAll(data.validation());
		return new TrainingData(data.key() + ":" + JobSpec.TRAIN_AND_VALIDATION, data.labels(), List.copyOf(all),
				List.of());
	}

	/** The freeze schedule, one phase when the spec has none. */
	static FreezeSchedule schedule(JobSpec spec) {
		List<JobSpec.FreezePhase> phases = spec.freeze().schedule();
		if (phases == null || phases.isEmpty()) {
			return FreezeSchedule.constant(Stage.parse(spec.freeze().upTo()));
		}
		return new FreezeSchedule(
				phases.stream().map((p) -> new FreezeSchedule.Phase(p.epoch(), Stage.parse(p.upTo()))).toList());
	}

	static TrainingRequest.BatchNormMode batchNorm(JobSpec spec) {
		String mode = spec.freeze().batchNorm();
		return (mode == null) ? TrainingRequest.BatchNormMode.AUTO
				: TrainingRequest.BatchNormMode.valueOf(mode.toUpperCase(Locale.ROOT));
	}

	static Hyperparameters hyperparameters(JobSpec.Hyperparameters h) {
		return new Hyperparameters(h.epochs(), h.batchSize(), h.learningRate(),
				enumOf(Hyperparameters.Optimizer.class, h.optimizer()), h.momentum(), h.weightDecay(),
				enumOf(Hyperparameters.LrSchedule.class, h.lrSchedule()), h.imageSize(),
				enumOf(Hyperparameters.Augmentation.class, h.augmentation()), h.labelSmoothing(),
				enumOf(Hyperparameters.ClassWeights.class, h.classWeights()), h.seed(),
				new Hyperparameters.EarlyStopping(h.earlyStopping().patience(),
						"valAccuracy".equals(h.earlyStopping().metric())
								? Hyperparameters.EarlyStoppingMetric.VAL_ACCURACY
								: Hyperparameters.EarlyStoppingMetric.VAL_LOSS),
				h.warmupEpochs(), stageLearningRates(h));
	}

	static StageLearningRates stageLearningRates(JobSpec.Hyperparameters h) {
		if (h.layerDecay() != null) {
			return StageLearningRates.layerDecay(h.layerDecay());
		}
		return new StageLearningRates((h.stageLearningRates() != null) ? h.stageLearningRates() : Map.of(), null);
	}

	private static <E extends Enum<E>> E enumOf(Class<E> type, String id) {
		return Enum.valueOf(type, id.replace('-', '_').toUpperCase(Locale.ROOT));
	}

}
