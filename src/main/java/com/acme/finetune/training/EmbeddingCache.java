package com.acme.finetune.training;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import com.acme.finetune.training.TrainingData.Sample;

/**
 * Backbone features of a dataset's images, kept on disk between runs. Valid only when the
 * whole backbone is frozen (inference BatchNorm) and there is no augmentation, so the
 * same image always gives the same vector. Files are written to a temporary name and
 * moved, so concurrent runs never read half a file.
 */
final class EmbeddingCache {

	private static final int MAGIC = 0x454D4231; // "EMB1"

	private static final int STATISTICS_MAGIC = 0x424E5331; // "BNS1"

	private final Path file;

	private EmbeddingCache(Path file) {
		this.file = file;
	}

	/**
	 * The cache entry for a backbone, dataset and transform; a scratch backbone's weights
	 * depend on the seed and the device's random generator, so both are part of its key.
	 */
	static EmbeddingCache of(Path cacheDir, BaseModel base, TrainingData data, Preprocessing preprocessing, long seed,
			String deviceType) {
		try {
			MessageDigest digest = MessageDigest.getInstance("SHA-256");
			update(digest, base.kind().name());
			update(digest, base.id());
			if (base.kind() == BaseModel.Kind.SCRATCH) {
				// and its BatchNorm statistics on the training images (FineTuner)
				update(digest,
						"seed=" + seed + ",device=" + deviceType + ",bn=calibrated:" + FineTuner.CALIBRATION_IMAGES);
			}
			update(digest, data.key());
			update(digest, preprocessing.fingerprint());
			update(digest, String.join("\n", data.labels()));
			samples(digest, "train", data.train());
			samples(digest, "val", data.validation());
			String key = HexFormat.of().formatHex(digest.digest());
			return new EmbeddingCache(cacheDir.resolve("embeddings").resolve(key + ".f32"));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static void samples(MessageDigest digest, String split, List<Sample> samples) {
		update(digest, split + ":" + samples.size());
		for (Sample s : samples) {
			update(digest, s.image().getFileName() + "=" + s.label());
		}
	}

	private static void update(MessageDigest digest, String value) {
		digest.update(value.getBytes(StandardCharsets.UTF_8));
		digest.update((byte) 0);
	}

	Path file() {
		return this.file;
	}

	/** The cached features, or {@code null} when absent or not matching the sizes. */
	Features read(int trainCount, int valCount, int dim) {
		if (!Files.isRegularFile(this.file)) {
			return null;
		}
		try (FileChannel channel = FileChannel.open(this.file, StandardOpenOption.READ)) {
			ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
			channel.read(header, 0);
			header.flip();
			if (header.getInt() != MAGIC || header.getInt() != dim || header.getInt() != trainCount
					|| header.getInt() != valCount) {
				return null;
			}
			float[] train = new float[trainCount * dim];
			float[] val = new float[valCount * dim];
			long position = 16;
			position = readFloats(channel, position, train);
			readFloats(channel, position, val);
			return new Features(train, val, dim);
		}
		catch (IOException ex) {
			// a damaged entry is recomputed, not fatal
			return null;
		}
	}

	/**
	 * The BatchNorm statistics a scratch backbone was calibrated with before these
	 * features were computed (a file beside them), or {@code null} when absent or
	 * unreadable.
	 */
	List<float[]> readStatistics() {
		Path statistics = statisticsFile();
		if (!Files.isRegularFile(statistics)) {
			return null;
		}
		try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(statistics)))) {
			if (in.readInt() != STATISTICS_MAGIC) {
				return null;
			}
			int count = in.readInt();
			List<float[]> arrays = new ArrayList<>();
			for (int i = 0; i < count; i++) {
				float[] values = new float[in.readInt()];
				for (int j = 0; j < values.length; j++) {
					values[j] = in.readFloat();
				}
				arrays.add(values);
			}
			return arrays;
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

	/** Stores what {@link #readStatistics()} reads, atomically. */
	void writeStatistics(List<float[]> arrays) throws IOException {
		Path statistics = statisticsFile();
		Files.createDirectories(statistics.getParent());
		Path tmp = Files.createTempFile(statistics.getParent(), "bn", ".tmp");
		try {
			try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
				out.writeInt(STATISTICS_MAGIC);
				out.writeInt(arrays.size());
				for (float[] values : arrays) {
					out.writeInt(values.length);
					for (float v : values) {
						out.writeFloat(v);
					}
				}
			}
			Files.move(tmp, statistics, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		}
		finally {
			Files.deleteIfExists(tmp);
		}
	}

	private Path statisticsFile() {
		return this.file.resolveSibling(this.file.getFileName().toString().replace(".f32", ".bn"));
	}

	void write(Features features) throws IOException {
		Files.createDirectories(this.file.getParent());
		Path tmp = Files.createTempFile(this.file.getParent(), "emb", ".tmp");
		try {
			try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
				ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
				header.putInt(MAGIC)
					.putInt(features.dim())
					.putInt(features.train().length / features.dim())
					.putInt(features.val().length / features.dim());
				header.flip();
				channel.write(header);
				writeFloats(channel, features.train());
				writeFloats(channel, features.val());
			}
			Files.move(tmp, this.file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		}
		finally {
			Files.deleteIfExists(tmp);
		}
	}

	private static long readFloats(FileChannel channel, long position, float[] target) throws IOException {
		ByteBuffer buffer = ByteBuffer.allocate(target.length * 4).order(ByteOrder.LITTLE_ENDIAN);
		while (buffer.hasRemaining()) {
			int n = channel.read(buffer, position + buffer.position());
			if (n < 0) {
				throw new IOException("Truncated embedding cache file");
			}
		}
		buffer.flip();
		buffer.asFloatBuffer().get(target);
		return position + target.length * 4L;
	}

	private static void writeFloats(FileChannel channel, float[] values) throws IOException {
		ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
		buffer.asFloatBuffer().put(values);
		while (buffer.hasRemaining()) {
			channel.write(buffer);
		}
	}

	/** Row-major feature matrices of the train and validation splits. */
	record Features(float[] train, float[] val, int dim) {
	}

}
