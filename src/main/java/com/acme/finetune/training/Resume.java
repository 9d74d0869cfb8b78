package com.acme.finetune.training;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.nn.Classifier;

/**
 * A checkpoint a run continues from: found in the request's checkpoint directory and
 * accepted only when it was written by a run of the same request (same base, data, freeze
 * settings and hyperparameters: its fingerprint).
 */
record Resume(Checkpoint.Stored stored, Checkpoint.State state) {

	private static final Logger log = LoggerFactory.getLogger(Resume.class);

	/** The newest usable checkpoint, or null to start from the beginning. */
	static Resume find(Path checkpointDir, String fingerprint) {
		Checkpoint.Stored stored = Checkpoint.latest(checkpointDir);
		if (stored == null) {
			return null;
		}
		try (DataInputStream in = Checkpoint.openState(stored)) {
			Checkpoint.State state = Checkpoint.readState(in);
			if (!state.fingerprint().equals(fingerprint)) {
				log.warn("Ignoring checkpoint {}: written by a run of another request", stored.dir());
				return null;
			}
			return new Resume(stored, state);
		}
		catch (IOException | RuntimeException ex) {
			log.warn("Ignoring unreadable checkpoint {}: {}", stored.dir(), ex.toString());
			return null;
		}
	}

	/**
	 * What makes two runs the same run: everything in the request but where it writes,
	 * and the data (dataset key, labels, samples).
	 */
	static String fingerprint(TrainingRequest request, TrainingData data) {
		Hyperparameters hp = request.hyperparameters();
		StringBuilder text = new StringBuilder();
		text.append(request.base().kind()).append('|').append(request.base().id()).append('|');
		text.append(request.freezeSchedule().phases()).append('|').append(request.batchNorm()).append('|');
		text.append(hp.epochs()).append(',').append(hp.batchSize()).append(',').append(hp.learningRate()).append(',');
		text.append(hp.optimizer()).append(',').append(hp.momentum()).append(',').append(hp.weightDecay()).append(',');
		text.append(hp.lrSchedule()).append(',').append(hp.imageSize()).append(',').append(hp.augmentation());
		text.append(',').append(hp.labelSmoothing()).append(',').append(hp.classWeights()).append(',');
		text.append(hp.seed()).append(',').append(hp.earlyStopping()).append(',').append(hp.warmupEpochs());
		// sorted: Map.copyOf iterates in an order that differs from JVM to JVM
		Map<String, Double> rates = new TreeMap<>(hp.stageLearningRates().multipliers());
		text.append(',').append(rates).append(',').append(hp.stageLearningRates().layerDecay()).append('|');
		text.append(data.key()).append('|').append(data.labels()).append('|');
		data.train().forEach((s) -> text.append(s.image().getFileName()).append(':').append(s.label()).append(';'));
		text.append('|');
		data.validation()
			.forEach((s) -> text.append(s.image().getFileName()).append(':').append(s.label()).append(';'));
		try {
			byte[] digest = MessageDigest.getInstance("SHA-256")
				.digest(text.toString().getBytes(StandardCharsets.UTF_8));
			return HexFormat.of().formatHex(digest);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** The checkpoint's whole network, ready to train on. */
	Classifier loadNetwork(NDManager manager) {
		try {
			return Checkpoint.loadNetwork(this.stored.weights(), manager);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot load the network of checkpoint " + this.stored.dir(), ex);
		}
	}

	/** Sets the head's weights from a checkpoint that holds only them. */
	void loadHead(Linear head, NDManager manager) {
		Path file = this.stored.weights().resolve(Checkpoint.HEAD_FILE);
		try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
			head.loadParameters(manager, in);
		}
		catch (IOException | MalformedModelException ex) {
			throw new IllegalStateException("Cannot load the head of checkpoint " + this.stored.dir(), ex);
		}
	}

}
