package com.acme.finetune.job;

import java.nio.file.Path;
import java.util.Locale;

import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TrainingRequest;

/** Maps the API's {@link JobSpec} onto the training core's request. */
final class JobSpecs {

	private JobSpecs() {
	}

	static TrainingRequest trainingRequest(JobSpec spec, BaseModel base, Path outputDir, Path cacheDir) {
		return new TrainingRequest(base, Stage.parse(spec.freeze().upTo()), batchNorm(spec),
				hyperparameters(spec.hyperparameters()), spec.device(), outputDir, cacheDir);
	}

	static TrainingRequest.BatchNormMode batchNorm(JobSpec spec) {
		return TrainingRequest.BatchNormMode.valueOf(spec.freeze().batchNorm().toUpperCase(Locale.ROOT));
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
								: Hyperparameters.EarlyStoppingMetric.VAL_LOSS));
	}

	private static <E extends Enum<E>> E enumOf(Class<E> type, String id) {
		return Enum.valueOf(type, id.replace('-', '_').toUpperCase(Locale.ROOT));
	}

}
