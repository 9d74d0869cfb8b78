package com.acme.finetune.training;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.nn.Classifier;
import com.acme.finetune.training.nn.TorchScriptClassifier;

/**
 * A run's state after a completed epoch, on disk, so that an interrupted run (worker
 * died, node drained, out of memory, cancelled) continues from there instead of starting
 * over.
 *
 * <p>
 * Each checkpoint is a directory {@code epoch-NNNN} in the run's checkpoint directory,
 * written as {@code epoch-NNNN.partial} and renamed when complete (files forced to disk
 * first), so a reader only ever sees whole checkpoints; older ones are deleted after the
 * rename. It holds:
 * <ul>
 * <li>{@code weights/}: the trained parameters - the whole network
 * ({@link Classifier#save}, which for TorchScript writes the module itself, BatchNorm
 * buffers included) or, when the backbone never trains in the run, only the head
 * ({@code head.params}): the rest is rebuilt from the base exactly as at the start;</li>
 * <li>{@code best.params}: the best epoch's weights, when that is not this epoch;</li>
 * <li>{@code state.bin}: the epoch, a fingerprint of the request, every epoch's metrics,
 * the best epoch, its score and validation predictions, the data order and the random
 * generators (shuffle, augmentation), and the optimizer state ({@link StageOptimizer}).
 * The learning-rate schedule's position is the epoch itself.</li>
 * </ul>
 */
final class Checkpoint {

	private static final Logger log = LoggerFactory.getLogger(Checkpoint.class);

	static final String WEIGHTS = "weights";

	static final String HEAD_FILE = "head.params";

	private static final String BEST_FILE = "best.params";

	private static final String STATE_FILE = "state.bin";

	private static final int MAGIC = 0x434B5031; // "CKP1"

	private static final Pattern NAME = Pattern.compile("epoch-(\\d{4,})");

	/** What {@code state.bin} holds besides the optimizer state. */
	record State(int epoch, String fingerprint, boolean wholeNetwork, List<EpochMetrics> metrics, int bestEpoch,
			double bestScore, int[] bestPredictions, int[] order, Random shuffle, Random augment) {
	}

	/** A completed checkpoint directory. */
	record Stored(Path dir, int epoch) {

		Path weights() {
			return this.dir.resolve(WEIGHTS);
		}

		/** The best epoch's weights, or null when they are this checkpoint's weights. */
		byte[] bestWeights() throws IOException {
			Path file = this.dir.resolve(BEST_FILE);
			return Files.isRegularFile(file) ? Files.readAllBytes(file) : null;
		}

	}

	/** Writes one checkpoint's parts into a directory that is not yet visible. */
	interface Writer {

		void weights(Path dir) throws IOException;

		void optimizer(DataOutputStream out) throws IOException;

	}

	private Checkpoint() {
	}

	/** The newest complete checkpoint in {@code dir}, or null. */
	static Stored latest(Path dir) {
		if (dir == null || !Files.isDirectory(dir)) {
			return null;
		}
		Stored latest = null;
		try (Stream<Path> entries = Files.list(dir)) {
			for (Path entry : entries.toList()) {
				Matcher m = NAME.matcher(entry.getFileName().toString());
				if (m.matches() && Files.isRegularFile(entry.resolve(STATE_FILE))) {
					int epoch = Integer.parseInt(m.group(1));
					if (latest == null || epoch > latest.epoch()) {
						latest = new Stored(entry, epoch);
					}
				}
			}
		}
		catch (IOException ex) {
			log.warn("Cannot list checkpoints in {}: {}", dir, ex.toString());
			return null;
		}
		return latest;
	}

	/** The epochs the newest complete checkpoint in {@code dir} has trained (0: none). */
	public static int completedEpochs(Path dir) {
		Stored latest = latest(dir);
		return (latest != null) ? latest.epoch() : 0;
	}

	/**
	 * Writes the checkpoint of {@code state.epoch()} atomically and removes older ones.
	 * @return bytes written
	 */
	static long write(Path dir, State state, byte[] bestWeights, Writer writer) throws IOException {
		Files.createDirectories(dir);
		String name = String.format("epoch-%04d", state.epoch());
		Path partial = dir.resolve(name + ".partial");
		Dirs.deleteRecursively(partial);
		Path weights = Files.createDirectories(partial.resolve(WEIGHTS));
		writer.weights(weights);
		if (bestWeights != null) {
			try (OutputStream out = Files.newOutputStream(partial.resolve(BEST_FILE))) {
				out.write(bestWeights);
			}
		}
		try (DataOutputStream out = new DataOutputStream(
				new BufferedOutputStream(Files.newOutputStream(partial.resolve(STATE_FILE)), 1 << 20))) {
			writeState(out, state);
			writer.optimizer(out);
		}
		long bytes = Dirs.forceAll(partial);
		Path target = dir.resolve(name);
		Dirs.deleteRecursively(target);
		Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
		Dirs.force(dir);
		deleteOthers(dir, target);
		return bytes;
	}

	private static final String NETWORK_FILE = "network.properties";

	/** Writes the whole network and what is needed to rebuild it. */
	static void saveNetwork(Classifier network, boolean scripted, Path dir) throws IOException {
		network.save(dir);
		java.util.Properties p = new java.util.Properties();
		p.setProperty("network", network.kind());
		p.setProperty("numClasses", Integer.toString(network.numClasses()));
		p.setProperty("featureDim", Integer.toString(network.featureDim()));
		p.setProperty("classifierRemoved",
				Boolean.toString(network instanceof TorchScriptClassifier ts && ts.classifierRemoved()));
		p.setProperty("scripted", Boolean.toString(scripted));
		try (OutputStream out = Files.newOutputStream(dir.resolve(NETWORK_FILE))) {
			p.store(out, null);
		}
	}

	/** Writes the head alone (a run whose backbone never trains). */
	static void saveHead(ai.djl.nn.core.Linear head, Path dir) throws IOException {
		try (DataOutputStream out = new DataOutputStream(
				new BufferedOutputStream(Files.newOutputStream(dir.resolve(HEAD_FILE))))) {
			head.saveParameters(out);
		}
	}

	/** Rebuilds what {@link #saveNetwork} wrote, trainable. */
	static Classifier loadNetwork(Path dir, ai.djl.ndarray.NDManager manager) throws IOException {
		java.util.Properties p = new java.util.Properties();
		try (java.io.InputStream in = Files.newInputStream(dir.resolve(NETWORK_FILE))) {
			p.load(in);
		}
		Classifier network = ArtifactBlockFactory.load(manager, dir, p.getProperty("network"),
				Integer.parseInt(p.getProperty("numClasses")), Boolean.parseBoolean(p.getProperty("classifierRemoved")),
				Integer.parseInt(p.getProperty("featureDim")), true);
		if (network instanceof TorchScriptClassifier ts) {
			ts.setUpdatesStatisticsInTrainMode(Boolean.parseBoolean(p.getProperty("scripted")));
		}
		return network;
	}

	/** Reads a checkpoint's state; the optimizer state follows in {@code in}. */
	static State readState(DataInputStream in) throws IOException {
		if (in.readInt() != MAGIC) {
			throw new IOException("Not a checkpoint state file");
		}
		int epoch = in.readInt();
		String fingerprint = in.readUTF();
		boolean wholeNetwork = in.readBoolean();
		int count = in.readInt();
		List<EpochMetrics> metrics = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			String frozenUpTo = in.readUTF();
			metrics.add(new EpochMetrics(in.readInt(), in.readDouble(), in.readDouble(), in.readDouble(),
					in.readDouble(), in.readDouble(), in.readLong(), in.readDouble(), in.readInt(),
					frozenUpTo.isEmpty() ? null : frozenUpTo));
		}
		int bestEpoch = in.readInt();
		double bestScore = in.readDouble();
		int[] bestPredictions = readInts(in);
		int[] order = readInts(in);
		Random shuffle = readRandom(in);
		Random augment = readRandom(in);
		return new State(epoch, fingerprint, wholeNetwork, metrics, bestEpoch, bestScore, bestPredictions, order,
				shuffle, augment);
	}

	/** Opens a checkpoint's state file (state, then optimizer state). */
	static DataInputStream openState(Stored stored) throws IOException {
		return new DataInputStream(
				new BufferedInputStream(Files.newInputStream(stored.dir().resolve(STATE_FILE)), 1 << 20));
	}

	private static void writeState(DataOutputStream out, State state) throws IOException {
		out.writeInt(MAGIC);
		out.writeInt(state.epoch());
		out.writeUTF(state.fingerprint());
		out.writeBoolean(state.wholeNetwork());
		out.writeInt(state.metrics().size());
		for (EpochMetrics m : state.metrics()) {
			out.writeUTF((m.frozenUpTo() != null) ? m.frozenUpTo() : "");
			out.writeInt(m.epoch());
			out.writeDouble(m.trainLoss());
			out.writeDouble(m.trainAccuracy());
			out.writeDouble(m.valLoss());
			out.writeDouble(m.valAccuracy());
			out.writeDouble(m.learningRate());
			out.writeLong(m.durationMs());
			out.writeDouble(m.imagesPerSecond());
			out.writeInt(m.phase());
		}
		out.writeInt(state.bestEpoch());
		out.writeDouble(state.bestScore());
		writeInts(out, state.bestPredictions());
		writeInts(out, state.order());
		writeRandom(out, state.shuffle());
		writeRandom(out, state.augment());
	}

	private static void writeInts(DataOutputStream out, int[] values) throws IOException {
		if (values == null) {
			out.writeInt(-1);
			return;
		}
		out.writeInt(values.length);
		for (int v : values) {
			out.writeInt(v);
		}
	}

	private static int[] readInts(DataInputStream in) throws IOException {
		int length = in.readInt();
		if (length < 0) {
			return null;
		}
		int[] values = new int[length];
		for (int i = 0; i < length; i++) {
			values[i] = in.readInt();
		}
		return values;
	}

	/** A generator's exact position: {@link Random} serialises its 48-bit state. */
	private static void writeRandom(DataOutputStream out, Random random) throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (ObjectOutputStream objects = new ObjectOutputStream(bytes)) {
			objects.writeObject(random);
		}
		out.writeInt(bytes.size());
		bytes.writeTo(out);
	}

	private static Random readRandom(DataInputStream in) throws IOException {
		byte[] bytes = new byte[in.readInt()];
		in.readFully(bytes);
		// only the generator's own class, never anything else a file could name
		try (ObjectInputStream objects = new ObjectInputStream(new ByteArrayInputStream(bytes)) {
			@Override
			protected Class<?> resolveClass(java.io.ObjectStreamClass desc) throws IOException, ClassNotFoundException {
				if (!desc.getName().equals(Random.class.getName())) {
					throw new IOException("Unexpected class in a checkpoint: " + desc.getName());
				}
				return super.resolveClass(desc);
			}
		}) {
			return (Random) objects.readObject();
		}
		catch (ClassNotFoundException ex) {
			throw new IOException(ex);
		}
	}

	private static void deleteOthers(Path dir, Path keep) {
		try (Stream<Path> entries = Files.list(dir)) {
			for (Path entry : entries.toList()) {
				if (!entry.equals(keep) && entry.getFileName().toString().startsWith("epoch-")) {
					Dirs.deleteRecursively(entry);
				}
			}
		}
		catch (IOException ex) {
			log.warn("Could not remove older checkpoints in {}: {}", dir, ex.toString());
		}
	}

	/** Small file-system helpers of checkpoints. */
	static final class Dirs {

		private Dirs() {
		}

		static void deleteRecursively(Path path) throws IOException {
			if (!Files.exists(path)) {
				return;
			}
			try (Stream<Path> walk = Files.walk(path)) {
				for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
					Files.deleteIfExists(p);
				}
			}
		}

		/** Forces every file under {@code dir} to disk; returns their total size. */
		static long forceAll(Path dir) throws IOException {
			long bytes = 0;
			try (Stream<Path> walk = Files.walk(dir)) {
				for (Path p : walk.filter(Files::isRegularFile).toList()) {
					try (FileChannel channel = FileChannel.open(p, StandardOpenOption.WRITE)) {
						channel.force(true);
						bytes += channel.size();
					}
				}
			}
			return bytes;
		}

		/** The directory entry itself (a rename is durable once its directory is). */
		static void force(Path dir) {
			try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
				channel.force(true);
			}
			catch (IOException ex) {
				// not every file system lets a directory be opened; the rename still
				// happened
			}
		}

	}

}
