package com.acme.finetune.dataset.intake;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.zip.UnsupportedZipFeatureException;

/**
 * Streams an uploaded archive entry by entry into a work directory, enforcing the
 * extraction limits on the bytes actually decompressed (never on the sizes headers
 * declare), refusing entries that could escape the root or are not regular files, and
 * decoding every image. Nothing here holds more than one copy buffer of an entry in
 * memory; each file goes to its own temporary file. Headers are bounded too: tar is read
 * by {@link TarReader}, whose limits no long name or pax header can exceed, and a zip's
 * central directory is scanned record by record ({@link ZipCentralDirectory}). The
 * entries are read through {@link ArchiveEntries}, judged by {@link EntryChecks} and
 * refused through {@link IntakeProblems}.
 * <p>
 * Refusals are {@link ApiException}s; the caller owns the work directory and deletes it.
 */
public final class ArchiveIntake {

	static final int BUFFER = 64 * 1024;

	/** Longest path stored ({@code dataset_file.path}). */
	static final int MAX_PATH_LENGTH = 4096;

	private final DatasetProperties properties;

	private final ImageInspector images;

	private final DiskGuard disk;

	public ArchiveIntake(DatasetProperties properties, DiskGuard disk) {
		this.properties = properties;
		this.images = new ImageInspector(properties.maxPixels());
		this.disk = disk;
	}

	/**
	 * Extracts and checks every file of the archive.
	 * @param archive the uploaded archive (a temporary file)
	 * @param workDir an empty directory that receives one file per distinct image
	 * @return the images, in archive order, with their normalized paths, and the files
	 * outside the class folders that are not images (ignored)
	 */
	public Extraction extract(Path archive, Path workDir) throws IOException {
		return extract(archive, workDir, null);
	}

	/**
	 * Extracts every file of an archive of images to classify: the same limits and
	 * refusals of unsafe entries, nested archives and unusable paths as a dataset upload,
	 * but a file that is not a valid image is handed to {@code rejected} (path, reason)
	 * instead of refusing the archive, and any folder layout is accepted.
	 * @return the images, in archive order
	 */
	public List<ExtractedFile> extractImages(Path archive, Path workDir,
			java.util.function.BiConsumer<String, String> rejected) throws IOException {
		return extract(archive, workDir, rejected).images();
	}

	private Extraction extract(Path archive, Path workDir, java.util.function.BiConsumer<String, String> rejected)
			throws IOException {
		Run run = new Run(workDir, Files.size(archive));
		run.rejected = rejected;
		try (ArchiveEntries.Entries entries = ArchiveEntries.open(archive, this.properties, run.unsafe)) {
			ArchiveEntries.Entry entry;
			while ((entry = run.next(entries)) != null) {
				run.accept(entries, entry);
			}
		}
		catch (OutOfMemoryError ex) {
			// the limits above should make this unreachable; if an archive still finds a
			// way, it is refused and the service lives on (its buffers are garbage now)
			throw IntakeProblems.tooLarge("Reading the archive needs more memory than the service can spare");
		}
		catch (StackOverflowError ex) {
			throw IntakeProblems.corrupt("the archive is nested too deeply to read");
		}
		return run.finish();
	}

	/** The state of one extraction. */
	private final class Run {

		private final Path workDir;

		private final long archiveSize;

		private final List<ExtractedFile> files = new ArrayList<>();

		private final Map<String, ExtractedFile> bySha = new HashMap<>();

		private final IntakeProblems unsafe = new IntakeProblems();

		private final IntakeProblems nested = new IntakeProblems();

		private final IntakeProblems invalid = new IntakeProblems();

		private final IntakeProblems unusablePaths = new IntakeProblems();

		/**
		 * Empty files and files no image reader recognises: left out beside the class
		 * folders, refused inside them.
		 */
		private final List<Map<String, String>> notImages = new ArrayList<>();

		private final byte[] buffer = new byte[BUFFER];

		private int entryCount;

		/** Entry data decompressed so far (tar headers are counted by the reader). */
		private long totalBytes;

		/** Where a lenient extraction sends the files it leaves out; null when strict. */
		private java.util.function.BiConsumer<String, String> rejected;

		Run(Path workDir, long archiveSize) {
			this.workDir = workDir;
			this.archiveSize = archiveSize;
		}

		ArchiveEntries.Entry next(ArchiveEntries.Entries entries) {
			ArchiveEntries.Entry entry;
			try {
				entry = entries.next();
			}
			catch (UnsupportedZipFeatureException ex) {
				throw IntakeProblems.unsupported(ex);
			}
			catch (IOException | RuntimeException ex) {
				if (ex instanceof ApiException api) {
					throw api;
				}
				throw IntakeProblems.corrupt("cannot read the next entry (" + ex.getMessage() + ")");
			}
			if (entry != null && ++this.entryCount > ArchiveIntake.this.properties.maxEntries()) {
				throw IntakeProblems
					.tooLarge("The archive has more than " + ArchiveIntake.this.properties.maxEntries() + " entries");
			}
			checkTotal(entries);
			return entry;
		}

		void accept(ArchiveEntries.Entries entries, ArchiveEntries.Entry entry) throws IOException {
			String name = entry.name();
			String unsafeReason = EntryChecks.unsafeReason(name);
			if (unsafeReason == null) {
				unsafeReason = EntryChecks.unsafeType(entry);
			}
			if (unsafeReason != null) {
				this.unsafe.add(name, unsafeReason);
				copy(entries, name, null, null);
				return;
			}
			if (entry.kind() == ArchiveEntries.Kind.DIRECTORY) {
				// a directory's data would be ignored by an extractor, or not: refused
				// either way, and counted against the limits while it is read
				long bytes = entries.canRead() ? copy(entries, name, null, null) : 0;
				if (bytes > 0) {
					this.unsafe.add(name, "directory entry carrying " + bytes + " bytes of data");
				}
				return;
			}
			String path = EntryChecks.normalize(name);
			if (path.isEmpty() || EntryChecks.isIgnored(path)) {
				copy(entries, name, null, null);
				return;
			}
			if (path.length() > MAX_PATH_LENGTH) {
				this.unusablePaths.add(path, "path longer than " + MAX_PATH_LENGTH + " characters");
				copy(entries, name, null, null);
				return;
			}
			ArchiveIntake.this.disk.require(0);
			Path temp = this.workDir.resolve("e" + this.entryCount);
			MessageDigest digest = sha256();
			long size;
			try (OutputStream out = ArchiveIntake.this.disk.watch(Files.newOutputStream(temp))) {
				size = copy(entries, name, out, digest);
			}
			String sha = ArtifactStore.hex(digest.digest());
			ExtractedFile first = this.bySha.get(sha);
			if (first != null) {
				// identical bytes were already checked: keep one copy on disk
				Files.delete(temp);
				this.files.add(new ExtractedFile(path, first.tempFile(), sha, size, first.width(), first.height()));
				return;
			}
			if (size == 0 && this.rejected != null) {
				this.rejected.accept(path, "empty file");
				Files.delete(temp);
				return;
			}
			if (size == 0) {
				add(this.notImages, path, "empty file");
				Files.delete(temp);
				return;
			}
			String archiveKind = ArchiveFormats.archiveKind(ArchiveFormats.readHead(temp, 512));
			if (archiveKind != null) {
				this.nested.add(path, "nested " + archiveKind + " archive; upload images only");
				Files.delete(temp);
				return;
			}
			try {
				ImageInspector.ImageInfo info = ArchiveIntake.this.images.inspect(temp);
				ExtractedFile file = new ExtractedFile(path, temp, sha, size, info.width(), info.height());
				this.bySha.put(sha, file);
				this.files.add(file);
			}
			catch (ImageInspector.InvalidImageException ex) {
				if (this.rejected != null) {
					this.rejected.accept(path, ex.getMessage());
				}
				else if (ex.notAnImage()) {
					add(this.notImages, path, ex.getMessage());
				}
				else {
					this.invalid.add(path, ex.getMessage());
				}
				Files.delete(temp);
			}
		}

		/**
		 * Copies (or drains, when {@code out} is null) the current entry while counting
		 * the bytes that really come out of the decompressor. Draining skipped entries
		 * through the same loop means they count towards the limits too.
		 */
		private long copy(ArchiveEntries.Entries entries, String name, OutputStream out, MessageDigest digest)
				throws IOException {
			DatasetProperties limits = ArchiveIntake.this.properties;
			InputStream in = entries.content();
			long entryBytes = 0;
			while (true) {
				int n;
				try {
					n = in.read(this.buffer);
				}
				catch (UnsupportedZipFeatureException ex) {
					throw IntakeProblems.unsupported(ex);
				}
				catch (IOException | RuntimeException ex) {
					if (ex instanceof ApiException api) {
						throw api;
					}
					throw IntakeProblems
						.corrupt("cannot read entry " + IntakeProblems.reportable(name) + " (" + ex.getMessage() + ")");
				}
				if (n < 0) {
					return entryBytes;
				}
				entryBytes += n;
				this.totalBytes += n;
				checkTotal(entries);
				if (entryBytes > limits.ratioThresholdBytes()) {
					long compressed = entries.entryCompressedBytes();
					if (compressed >= 0 && entryBytes > limits.maxCompressionRatio() * Math.max(compressed, 1)) {
						throw IntakeProblems.tooLarge("Entry " + IntakeProblems.reportable(name) + " expands more than "
								+ limits.maxCompressionRatio() + " times (compression ratio limit)");
					}
				}
				if (out != null) {
					out.write(this.buffer, 0, n);
					digest.update(this.buffer, 0, n);
				}
			}
		}

		/**
		 * The total and whole-archive ratio limits, on everything decompressed so far:
		 * entry data and, for tar, its headers and padding.
		 */
		private void checkTotal(ArchiveEntries.Entries entries) {
			DatasetProperties limits = ArchiveIntake.this.properties;
			long total = Math.max(this.totalBytes, entries.decompressedBytes());
			if (total > limits.maxTotalUncompressedBytes()) {
				throw IntakeProblems
					.tooLarge("The archive expands to more than " + limits.maxTotalUncompressedBytes() + " bytes");
			}
			if (total > limits.ratioThresholdBytes()
					&& total > limits.maxCompressionRatio() * Math.max(this.archiveSize, 1)) {
				throw IntakeProblems.tooLarge("The archive expands more than " + limits.maxCompressionRatio()
						+ " times its size (compression ratio limit)");
			}
		}

		Extraction finish() {
			if (!this.unsafe.isEmpty()) {
				throw this.unsafe.refusal(ProblemType.UNSAFE_ARCHIVE,
						" archive entries could escape the dataset root or are not regular files; nothing was stored");
			}
			if (!this.nested.isEmpty()) {
				throw this.nested.refusal(ProblemType.NESTED_ARCHIVE,
						" entries are archives themselves; upload one archive of images");
			}
			if (!this.unusablePaths.isEmpty()) {
				throw this.unusablePaths.refusal(ProblemType.INVALID_DATASET_LAYOUT,
						" entries have paths too long to store");
			}
			if (this.rejected != null) {
				return new Extraction(this.files, List.of());
			}
			// a README or labels.csv next to the class folders is documentation, not a
			// dataset file; inside a class folder a file that is not an image is an error
			String wrapper = DatasetPlanner.wrapper(this.files.stream().map(ExtractedFile::path).toList());
			List<String> ignored = new ArrayList<>();
			for (Map<String, String> notImage : this.notImages) {
				String file = notImage.get("file");
				String inside = (wrapper != null && file.startsWith(wrapper + "/"))
						? file.substring(wrapper.length() + 1) : file;
				if (inside.contains("/")) {
					this.invalid.add(file, notImage.get("reason"));
				}
				else {
					ignored.add(file);
				}
			}
			if (!this.invalid.isEmpty()) {
				throw this.invalid.refusal(ProblemType.INVALID_IMAGES, " files are not valid images");
			}
			return new Extraction(this.files, ignored);
		}

		private static void add(List<Map<String, String>> errors, String file, String reason) {
			Map<String, String> error = new LinkedHashMap<>();
			error.put("file", file);
			error.put("reason", reason);
			errors.add(error);
		}

	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * What an archive holds: its images, and the files beside the class folders that are
	 * not images (a README, a labels.csv), which are left out.
	 */
	public record Extraction(List<ExtractedFile> images, List<String> ignored) {
	}

	/**
	 * One checked image: its normalized path in the archive and its (shared) temporary
	 * file.
	 */
	public record ExtractedFile(String path, Path tempFile, String sha256, long size, int width, int height) {
	}

}
