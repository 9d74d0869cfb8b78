package com.acme.finetune.job;

import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.TrainingResult;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * The conversation between a worker and the training process it starts. The worker writes
 * a {@link Request} file; the process prints {@link Message}s as single lines prefixed
 * with {@link #PREFIX} on stdout (anything else is log output) and reads commands
 * ({@link #CANCEL}, {@link #STOP}) from stdin. End of stdin means the worker is gone, and
 * the process stops.
 */
final class TrainingProcessProtocol {

	static final String PREFIX = "@@finetune ";

	static final String CANCEL = "cancel";

	static final String STOP = "stop";

	/** The answer to a {@link Message#GATE}: train the next epoch. */
	static final String PROCEED = "proceed";

	/**
	 * The answer to a {@link Message#GATE}: end the run after this epoch, with a result.
	 */
	static final String HALT = "halt";

	static final ObjectMapper JSON = JsonMapper.builder()
		.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
		.build();

	private TrainingProcessProtocol() {
	}

	/**
	 * @param gated whether the process asks after each epoch whether to go on (a
	 * {@link Message#GATE}) and waits for {@link #PROCEED} or {@link #HALT}
	 * @param traceparent the W3C {@code traceparent} of the job attempt's span, or null
	 */
	record Request(TrainingRequest training, TrainingData data, boolean gated, String traceparent) {

		Request(TrainingRequest training, TrainingData data) {
			this(training, data, false, null);
		}

	}

	/** One message from the training process; {@code type} says which members are set. */
	record Message(String type, Integer totalEpochs, Integer stepsPerEpoch, Integer epoch, Integer step, Double loss,
			Double imagesPerSecond, EpochMetrics metrics, TrainingResult result, String errorType,
			String errorMessage) {

		static final String START = "start";

		static final String STEP = "step";

		static final String EPOCH = "epoch";

		static final String RESULT = "result";

		static final String CANCELLED = "cancelled";

		static final String ERROR = "error";

		/** {@code epoch} is recorded: the process waits to hear whether to go on. */
		static final String GATE = "gate";

		/** {@code epoch}: the epochs a resumed run starts after (0 for a fresh one). */
		static Message start(int totalEpochs, int stepsPerEpoch, int completedEpochs) {
			return new Message(START, totalEpochs, stepsPerEpoch, completedEpochs, null, null, null, null, null, null,
					null);
		}

		static Message step(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
			return new Message(STEP, null, stepsPerEpoch, epoch, step, finite(loss), finite(imagesPerSecond), null,
					null, null, null);
		}

		static Message epoch(EpochMetrics metrics) {
			return new Message(EPOCH, null, null, metrics.epoch(), null, null, null, metrics, null, null, null);
		}

		static Message gate(int epoch) {
			return new Message(GATE, null, null, epoch, null, null, null, null, null, null, null);
		}

		static Message result(TrainingResult result) {
			return new Message(RESULT, null, null, null, null, null, null, null, result, null, null);
		}

		static Message cancelled() {
			return new Message(CANCELLED, null, null, null, null, null, null, null, null, null, null);
		}

		static Message error(Throwable ex) {
			return new Message(ERROR, null, null, null, null, null, null, null, null, ex.getClass().getName(),
					String.valueOf(ex.getMessage()));
		}

		private static Double finite(double value) {
			return Double.isFinite(value) ? value : null;
		}

	}

}
