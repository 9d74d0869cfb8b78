package com.acme.finetune.dataset;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import java.util.zip.GZIPInputStream;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.zip.UnsupportedZipFeatureException;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;

/**
 * Streams an uploaded archive entry by entry into a work directory, enforcing the
 * extraction limits on the bytes actually decompressed (never on the sizes headers
 * declare), refusing entries that could escape the root or are not regular files, and
 * decoding every image. Nothing here holds more than one copy buffer of an entry in
 * memory; each file goes to its own temporary file. Headers are bounded too: tar is read
 * by {@link TarReader}, whose limits no long name or pax header can exceed, and a zip's
 * central directory is scanned record by record ({@link ZipCentralDirectory}).
 * <p>
 * Refusals are {@link ApiException}s; the caller owns the work directory and deletes it.
 */
final class ArchiveIntake {

	private static final int BUFFER = 64 * 1024;

	/**
	 * Reported per-file errors are capped so that a hostile archive cannot blow up the
	 * reply.
	 */
	static final int MAX_REPORTED_ERRORS = 1000;

	/** Longest entry name quoted in a reply; longer ones are cut. */
	static final int MAX_REPORTED_NAME = 1000;

	/** Longest path stored ({@code dataset_file.path}). */
	static final int MAX_PATH_LENGTH = 4096;

	private static final Pattern DRIVE_LETTER = Pattern.compile("^[A-Za-z]:.*");

	private final DatasetProperties properties;

	private final ImageInspector images;

	private final DiskGuard disk;

	ArchiveIntake(DatasetProperties properties, DiskGuard disk) {
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
	Extraction extract(Path archive, Path workDir) throws IOException {
		return extract(archive, workDir, null);
	}

	/**
	 * Extracts every file of an archive of images to classify: the same limits and
	 * refusals of unsafe entries, nested archives and unusable paths as a dataset upload,
	 * but a file that is not a valid image is handed to {@code rejected} (path, reason)
	 * instead of refusing the archive, and any folder layout is accepted.
	 * @return the images, in archive order
	 */
	List<ExtractedFile> extractImages(Path archive, Path workDir,
			java.util.function.BiConsumer<String, String> rejected) throws IOException {
		return extract(archive, workDir, rejected).images();
	}

	private Extraction extract(Path archive, Path workDir, java.util.function.BiConsumer<String, String> rejected)
			throws IOException {
		Run run = new Run(workDir, Files.size(archive));
		run.rejected = rejected;
		try (Entries entries = open(archive, run)) {
			Entry entry;
			while ((entry = run.next(entries)) != null) {
				run.accept(entries, entry);
			}
		}
		catch (OutOfMemoryError ex) {
			// the limits above should make this unreachable; if an archive still finds a
			// way, it is refused and the service lives on (its buffers are garbage now)
			throw tooLarge("Reading the archive needs more memory than the service can spare");
		}
		catch (StackOverflowError ex) {
			throw corrupt("the archive is nested too deeply to read");
		}
		return run.finish();
	}

	private Entries open(Path archive, Run run) throws IOException {
		byte[] head = readHead(archive, 512);
		long maxBytes = this.properties.maxTotalUncompressedBytes();
		if (isZip(head)) {
			ZipCentralDirectory.scan(archive, this.properties.maxEntries(),
					(name, reason) -> run.unsafe.add(name, reason));
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
			// stored entries with a data descriptor are refused: this reader would buffer
			// them whole in memory to find their end
			ZipArchiveInputStream zip = new ZipArchiveInputStream(in, "UTF-8", true, false);
			return new ZipEntries(zip);
		}
		if (isGzip(head)) {
			// the JDK's reader skips the gzip header's name and comment fields byte by
			// byte; commons-compress's collects them in memory without bound
			CountingInputStream raw = new CountingInputStream(
					new BufferedInputStream(Files.newInputStream(archive), BUFFER));
			BufferedInputStream tarStream;
			try {
				tarStream = new BufferedInputStream(new GZIPInputStream(raw, BUFFER), BUFFER);
			}
			catch (IOException ex) {
				raw.close();
				throw corrupt("the gzip stream cannot be read (" + ex.getMessage() + ")");
			}
			byte[] tarHead = new byte[512];
			tarStream.mark(512);
			int n;
			try {
				n = tarStream.readNBytes(tarHead, 0, 512);
			}
			catch (IOException ex) {
				tarStream.close();
				throw corrupt("the gzip stream cannot be read (" + ex.getMessage() + ")");
			}
			tarStream.reset();
			if (!isTar(Arrays.copyOf(tarHead, n))) {
				tarStream.close();
				throw new ApiException(ProblemType.INVALID_ARCHIVE,
						"The upload is gzip-compressed but does not contain a tar archive");
			}
			return new TarEntries(new TarReader(tarStream, maxBytes), tarStream, raw);
		}
		if (isTar(head)) {
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
			return new TarEntries(new TarReader(in, maxBytes), in, null);
		}
		throw new ApiException(ProblemType.INVALID_ARCHIVE,
				"The upload is not a zip or tar.gz archive (recognized by content, not by name)");
	}

	/** The state of one extraction. */
	private final class Run {

		private final Path workDir;

		private final long archiveSize;

		private final List<ExtractedFile> files = new ArrayList<>();

		private final Map<String, ExtractedFile> bySha = new HashMap<>();

		private final Problems unsafe = new Problems();

		private final Problems nested = new Problems();

		private final Problems invalid = new Problems();

		private final Problems unusablePaths = new Problems();

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

		Entry next(Entries entries) {
			Entry entry;
			try {
				entry = entries.next();
			}
			catch (UnsupportedZipFeatureException ex) {
				throw unsupported(ex);
			}
			catch (IOException | RuntimeException ex) {
				if (ex instanceof ApiException api) {
					throw api;
				}
				throw corrupt("cannot read the next entry (" + ex.getMessage() + ")");
			}
			if (entry != null && ++this.entryCount > ArchiveIntake.this.properties.maxEntries()) {
				throw tooLarge("The archive has more than " + ArchiveIntake.this.properties.maxEntries() + " entries");
			}
			checkTotal(entries);
			return entry;
		}

		void accept(Entries entries, Entry entry) throws IOException {
			String name = entry.name();
			String unsafeReason = unsafeReason(name);
			if (unsafeReason == null) {
				unsafeReason = unsafeType(entry);
			}
			if (unsafeReason != null) {
				this.unsafe.add(name, unsafeReason);
				copy(entries, name, null, null);
				return;
			}
			if (entry.kind() == Kind.DIRECTORY) {
				// a directory's data would be ignored by an extractor, or not: refused
				// either way, and counted against the limits while it is read
				long bytes = entries.canRead() ? copy(entries, name, null, null) : 0;
				if (bytes > 0) {
					this.unsafe.add(name, "directory entry carrying " + bytes + " bytes of data");
				}
				return;
			}
			String path = normalize(name);
			if (path.isEmpty() || isIgnored(path)) {
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
			String archiveKind = archiveKind(readHead(temp, 512));
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
		private long copy(Entries entries, String name, OutputStream out, MessageDigest digest) throws IOException {
			DatasetProperties limits = ArchiveIntake.this.properties;
			InputStream in = entries.content();
			long entryBytes = 0;
			while (true) {
				int n;
				try {
					n = in.read(this.buffer);
				}
				catch (UnsupportedZipFeatureException ex) {
					throw unsupported(ex);
				}
				catch (IOException | RuntimeException ex) {
					if (ex instanceof ApiException api) {
						throw api;
					}
					throw corrupt("cannot read entry " + reportable(name) + " (" + ex.getMessage() + ")");
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
						throw tooLarge("Entry " + reportable(name) + " expands more than "
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
		private void checkTotal(Entries entries) {
			DatasetProperties limits = ArchiveIntake.this.properties;
			long total = Math.max(this.totalBytes, entries.decompressedBytes());
			if (total > limits.maxTotalUncompressedBytes()) {
				throw tooLarge("The archive expands to more than " + limits.maxTotalUncompressedBytes() + " bytes");
			}
			if (total > limits.ratioThresholdBytes()
					&& total > limits.maxCompressionRatio() * Math.max(this.archiveSize, 1)) {
				throw tooLarge("The archive expands more than " + limits.maxCompressionRatio()
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

	/**
	 * Per-file errors of one kind: the first {@link #MAX_REPORTED_ERRORS}, names cut to
	 * {@link #MAX_REPORTED_NAME} characters, and how many there were in all, so that 100
	 * 000 hostile entries with 64 KiB names cost no more memory than a thousand.
	 */
	static final class Problems {

		private final List<Map<String, String>> first = new ArrayList<>();

		private int total;

		void add(String file, String reason) {
			this.total++;
			if (this.first.size() < MAX_REPORTED_ERRORS) {
				Map<String, String> error = new LinkedHashMap<>();
				error.put("file", reportable(file));
				error.put("reason", reason);
				this.first.add(error);
			}
		}

		boolean isEmpty() {
			return this.total == 0;
		}

		ApiException refusal(ProblemType type, String what) {
			ApiException ex = new ApiException(type, this.total + what);
			ex.with("errors", this.first);
			if (this.total > this.first.size()) {
				ex.with("totalErrors", this.total);
			}
			return ex;
		}

	}

	static ApiException refusal(ProblemType type, List<Map<String, String>> errors, String what) {
		ApiException ex = new ApiException(type, errors.size() + what);
		ex.with("errors", errors.subList(0, Math.min(errors.size(), MAX_REPORTED_ERRORS)));
		if (errors.size() > MAX_REPORTED_ERRORS) {
			ex.with("totalErrors", errors.size());
		}
		return ex;
	}

	/** A name as quoted in a reply: cut after {@link #MAX_REPORTED_NAME} characters. */
	static String reportable(String name) {
		if (name == null || name.length() <= MAX_REPORTED_NAME) {
			return name;
		}
		int end = MAX_REPORTED_NAME;
		if (Character.isHighSurrogate(name.charAt(end - 1))) {
			end--;
		}
		return name.substring(0, end) + "… (" + name.length() + " characters)";
	}

	private static ApiException unsupported(UnsupportedZipFeatureException ex) {
		String entry = (ex.getEntry() != null) ? " in entry " + reportable(ex.getEntry().getName()) : "";
		return new ApiException(ProblemType.INVALID_ARCHIVE,
				"The zip uses a feature this service does not read" + entry + ": " + ex.getFeature()
						+ " (stored entries with a data descriptor, encryption or an unusual compression method);"
						+ " re-create it with deflate compression");
	}

	/**
	 * The entry name as stored: zip readers turn backslashes of DOS-made entries into
	 * slashes, which would hide backslash tricks meant for Windows extractors.
	 */
	private static String rawName(ZipArchiveEntry zip) {
		if (zip.getRawName() != null) {
			String raw = new String(zip.getRawName(), StandardCharsets.UTF_8);
			if (raw.indexOf('\\') >= 0) {
				return raw;
			}
		}
		return zip.getName();
	}

	/**
	 * Why an entry name could write outside the extraction root, or null when it is safe.
	 */
	static String unsafeReason(String name) {
		if (name == null || name.isEmpty()) {
			return "empty entry name";
		}
		if (name.indexOf('\0') >= 0) {
			return "entry name contains a NUL character";
		}
		if (name.indexOf('\\') >= 0) {
			return "entry name contains a backslash";
		}
		if (name.startsWith("/")) {
			return "absolute path";
		}
		if (DRIVE_LETTER.matcher(name).matches()) {
			return "path with a drive letter";
		}
		for (String segment : name.split("/")) {
			if ("..".equals(segment)) {
				return "path escapes the archive root (..)";
			}
		}
		return null;
	}

	/** Why an entry of this kind is refused, or null for files and directories. */
	private static String unsafeType(Entry entry) {
		return switch (entry.kind()) {
			case FILE, DIRECTORY -> null;
			case SYMBOLIC_LINK -> "symbolic link" + target(entry);
			case HARD_LINK -> "hard link" + target(entry);
			case CHARACTER_DEVICE -> "character device";
			case BLOCK_DEVICE -> "block device";
			case FIFO -> "FIFO (named pipe)";
			case SPARSE -> "sparse file (not supported)";
			case OTHER -> "unsupported entry type " + entry.linkName();
		};
	}

	private static String target(Entry entry) {
		return (entry.linkName() == null || entry.linkName().isEmpty()) ? ""
				: " (to " + reportable(entry.linkName()) + ")";
	}

	/** The entry's path without empty and {@code .} segments. */
	static String normalize(String name) {
		StringBuilder path = new StringBuilder();
		for (String segment : name.split("/")) {
			if (segment.isEmpty() || ".".equals(segment)) {
				continue;
			}
			if (!path.isEmpty()) {
				path.append('/');
			}
			path.append(segment);
		}
		return path.toString();
	}

	/**
	 * Hidden files, macOS resource forks and Windows thumbnails are not part of a
	 * dataset.
	 */
	static boolean isIgnored(String path) {
		for (String segment : path.split("/")) {
			if (segment.startsWith(".") || "__MACOSX".equals(segment) || "Thumbs.db".equalsIgnoreCase(segment)
					|| "desktop.ini".equalsIgnoreCase(segment)) {
				return true;
			}
		}
		return false;
	}

	private static boolean isZip(byte[] head) {
		return head.length >= 4 && head[0] == 'P' && head[1] == 'K'
				&& ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6) || (head[2] == 7 && head[3] == 8));
	}

	private static boolean isGzip(byte[] head) {
		return head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
	}

	private static boolean isTar(byte[] head) {
		if (head.length >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a'
				&& head[261] == 'r') {
			return true;
		}
		// an empty tar is nothing but zero blocks
		if (head.length == 512) {
			for (byte b : head) {
				if (b != 0) {
					return false;
				}
			}
			return true;
		}
		return false;
	}

	/** The kind of archive or compressed stream these leading bytes start, or null. */
	static String archiveKind(byte[] head) {
		if (isZip(head)) {
			return "zip";
		}
		if (isGzip(head)) {
			return "gzip";
		}
		if (head.length >= 262 && isTar(head)) {
			return "tar";
		}
		if (startsWith(head, 'B', 'Z', 'h')) {
			return "bzip2";
		}
		if (startsWith(head, 0xfd, '7', 'z', 'X', 'Z', 0)) {
			return "xz";
		}
		if (startsWith(head, '7', 'z', 0xbc, 0xaf, 0x27, 0x1c)) {
			return "7z";
		}
		if (startsWith(head, 'R', 'a', 'r', '!')) {
			return "rar";
		}
		return null;
	}

	private static boolean startsWith(byte[] head, int... magic) {
		if (head.length < magic.length) {
			return false;
		}
		for (int i = 0; i < magic.length; i++) {
			if ((head[i] & 0xff) != magic[i]) {
				return false;
			}
		}
		return true;
	}

	private static byte[] readHead(Path file, int max) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			return in.readNBytes(max);
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

	static ApiException tooLarge(String detail) {
		return new ApiException(ProblemType.ARCHIVE_TOO_LARGE, detail + "; nothing was stored");
	}

	static ApiException corrupt(String detail) {
		return new ApiException(ProblemType.CORRUPT_ARCHIVE, "The archive is corrupt or truncated: " + detail);
	}

	/**
	 * One checked image: its normalized path in the archive and its (shared) temporary
	 * file.
	 */
	/**
	 * What an archive holds: its images, and the files beside the class folders that are
	 * not images (a README, a labels.csv), which are left out.
	 */
	record Extraction(List<ExtractedFile> images, List<String> ignored) {
	}

	record ExtractedFile(String path, Path tempFile, String sha256, long size, int width, int height) {
	}

	/** What kind of file an entry would become when extracted. */
	enum Kind {

		FILE, DIRECTORY, SYMBOLIC_LINK, HARD_LINK, CHARACTER_DEVICE, BLOCK_DEVICE, FIFO, SPARSE, OTHER

	}

	/**
	 * One archive entry.
	 *
	 * @param linkName the target of a link; for {@link Kind#OTHER} the type, quoted
	 */
	record Entry(String name, Kind kind, String linkName) {
	}

	/** The entries of a zip or tar stream, read one after the other. */
	private interface Entries extends Closeable {

		Entry next() throws IOException;

		InputStream content();

		/** Whether the current entry's data can be read (see {@link ZipEntries}). */
		boolean canRead();

		/**
		 * Compressed bytes consumed for the current entry so far, or -1 when not
		 * compressed.
		 */
		long entryCompressedBytes();

		/**
		 * Every byte decompressed so far, headers included, or -1 where only entry data
		 * is known.
		 */
		long decompressedBytes();

	}

	private static final class ZipEntries implements Entries {

		private final ZipArchiveInputStream zip;

		private ZipArchiveEntry current;

		ZipEntries(ZipArchiveInputStream zip) {
			this.zip = zip;
		}

		@Override
		public Entry next() throws IOException {
			this.current = this.zip.getNextEntry();
			if (this.current == null) {
				return null;
			}
			String name = rawName(this.current);
			// the central directory's modes were checked before; a local unix extra field
			// saying "link" is refused as well
			Kind kind = this.current.isDirectory() ? Kind.DIRECTORY
					: this.current.isUnixSymlink() ? Kind.SYMBOLIC_LINK : Kind.FILE;
			return new Entry(name, kind, null);
		}

		@Override
		public InputStream content() {
			return this.zip;
		}

		/**
		 * A stored entry with a data descriptor cannot be read without buffering it; a
		 * directory of that kind is skipped (it holds nothing by its header), a file is
		 * refused when read.
		 */
		@Override
		public boolean canRead() {
			return this.zip.canReadEntryData(this.current);
		}

		@Override
		public long entryCompressedBytes() {
			return this.zip.getCompressedCount();
		}

		@Override
		public long decompressedBytes() {
			return -1;
		}

		@Override
		public void close() throws IOException {
			this.zip.close();
		}

	}

	private static final class TarEntries implements Entries {

		private final TarReader tar;

		private final InputStream stream;

		/** The compressed file under the gzip stream, counting what it gave, or null. */
		private final CountingInputStream compressed;

		private long compressedAtEntryStart;

		TarEntries(TarReader tar, InputStream stream, CountingInputStream compressed) {
			this.tar = tar;
			this.stream = stream;
			this.compressed = compressed;
		}

		@Override
		public Entry next() throws IOException {
			TarReader.Header header = this.tar.next();
			this.compressedAtEntryStart = (this.compressed != null) ? this.compressed.count : 0;
			if (header == null) {
				return null;
			}
			Kind kind = kind(header);
			return new Entry(header.name(), kind, (kind == Kind.OTHER) ? describe(header.type()) : header.linkName());
		}

		private static String describe(char type) {
			return (type > ' ' && type < 127) ? "'" + type + "'" : String.format("0x%02x", (int) type);
		}

		private static Kind kind(TarReader.Header header) {
			if (header.sparse()) {
				return Kind.SPARSE;
			}
			return switch (header.type()) {
				// old tars mark directories by the trailing slash alone
				case '0', '\0', '7' -> header.name().endsWith("/") ? Kind.DIRECTORY : Kind.FILE;
				case '5' -> Kind.DIRECTORY;
				case '1' -> Kind.HARD_LINK;
				case '2' -> Kind.SYMBOLIC_LINK;
				case '3' -> Kind.CHARACTER_DEVICE;
				case '4' -> Kind.BLOCK_DEVICE;
				case '6' -> Kind.FIFO;
				default -> Kind.OTHER;
			};
		}

		@Override
		public InputStream content() {
			return this.tar.content();
		}

		@Override
		public boolean canRead() {
			return true;
		}

		/**
		 * A gzip stream spans entries, so this is the share consumed since the entry
		 * began.
		 */
		@Override
		public long entryCompressedBytes() {
			return (this.compressed != null) ? this.compressed.count - this.compressedAtEntryStart : -1;
		}

		@Override
		public long decompressedBytes() {
			return this.tar.position();
		}

		@Override
		public void close() throws IOException {
			this.stream.close();
		}

	}

	/** Counts the compressed bytes the gzip reader takes. */
	private static final class CountingInputStream extends FilterInputStream {

		private long count;

		CountingInputStream(InputStream in) {
			super(in);
		}

		@Override
		public int read() throws IOException {
			int b = this.in.read();
			if (b >= 0) {
				this.count++;
			}
			return b;
		}

		@Override
		public int read(byte[] buffer, int offset, int length) throws IOException {
			int n = this.in.read(buffer, offset, length);
			if (n > 0) {
				this.count += n;
			}
			return n;
		}

		@Override
		public long skip(long n) throws IOException {
			long skipped = this.in.skip(n);
			this.count += skipped;
			return skipped;
		}

	}

}
