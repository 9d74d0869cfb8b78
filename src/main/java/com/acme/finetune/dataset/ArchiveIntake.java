package com.acme.finetune.dataset;

import java.io.BufferedInputStream;
import java.io.Closeable;
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

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Streams an uploaded archive entry by entry into a work directory, enforcing the
 * extraction limits on the bytes actually decompressed (never on header sizes), refusing
 * entries that could escape the root, and decoding every image. Nothing here holds more
 * than one copy buffer of an entry in memory; each file goes to its own temporary file.
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

	private static final Pattern DRIVE_LETTER = Pattern.compile("^[A-Za-z]:.*");

	private final DatasetProperties properties;

	private final ImageInspector images;

	ArchiveIntake(DatasetProperties properties) {
		this.properties = properties;
		this.images = new ImageInspector(properties.maxPixels());
	}

	/**
	 * Extracts and checks every file of the archive.
	 * @param archive the uploaded archive (a temporary file)
	 * @param workDir an empty directory that receives one file per distinct image
	 * @return the images, in archive order, with their normalized paths, and the files
	 * outside the class folders that are not images (ignored)
	 */
	Extraction extract(Path archive, Path workDir) throws IOException {
		Run run = new Run(workDir, Files.size(archive));
		try (Entries entries = open(archive)) {
			ArchiveEntry entry;
			while ((entry = run.next(entries)) != null) {
				run.accept(entries, entry);
			}
		}
		return run.finish();
	}

	private Entries open(Path archive) throws IOException {
		byte[] head = readHead(archive, 512);
		if (isZip(head)) {
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
			ZipArchiveInputStream zip = new ZipArchiveInputStream(in, "UTF-8", true, true);
			return new ZipEntries(zip);
		}
		if (isGzip(head)) {
			InputStream raw = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
			GzipCompressorInputStream gzip;
			try {
				gzip = GzipCompressorInputStream.builder().setInputStream(raw).setDecompressConcatenated(true).get();
			}
			catch (IOException ex) {
				raw.close();
				throw corrupt("the gzip stream cannot be read (" + ex.getMessage() + ")");
			}
			BufferedInputStream tarStream = new BufferedInputStream(gzip, BUFFER);
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
			return new TarEntries(new TarArchiveInputStream(tarStream, "UTF-8"), gzip);
		}
		if (isTar(head)) {
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
			return new TarEntries(new TarArchiveInputStream(in, "UTF-8"), null);
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

		private final List<Map<String, String>> unsafe = new ArrayList<>();

		private final List<Map<String, String>> nested = new ArrayList<>();

		private final List<Map<String, String>> invalid = new ArrayList<>();

		/**
		 * Empty files and files no image reader recognises: left out beside the class
		 * folders, refused inside them.
		 */
		private final List<Map<String, String>> notImages = new ArrayList<>();

		private final byte[] buffer = new byte[BUFFER];

		private int entryCount;

		private long totalBytes;

		Run(Path workDir, long archiveSize) {
			this.workDir = workDir;
			this.archiveSize = archiveSize;
		}

		ArchiveEntry next(Entries entries) {
			ArchiveEntry entry;
			try {
				entry = entries.next();
			}
			catch (IOException | RuntimeException ex) {
				throw corrupt("cannot read the next entry (" + ex.getMessage() + ")");
			}
			if (entry != null && ++this.entryCount > ArchiveIntake.this.properties.maxEntries()) {
				throw tooLarge("The archive has more than " + ArchiveIntake.this.properties.maxEntries() + " entries");
			}
			return entry;
		}

		void accept(Entries entries, ArchiveEntry entry) throws IOException {
			String name = rawName(entry);
			String unsafeReason = unsafeReason(name);
			if (unsafeReason == null) {
				unsafeReason = unsafeType(entry);
			}
			if (unsafeReason != null) {
				add(this.unsafe, name, unsafeReason);
				copy(entries, name, null, null);
				return;
			}
			if (entry.isDirectory()) {
				return;
			}
			String path = normalize(name);
			if (path.isEmpty() || isIgnored(path)) {
				copy(entries, name, null, null);
				return;
			}
			Path temp = this.workDir.resolve("e" + this.entryCount);
			MessageDigest digest = sha256();
			long size;
			try (OutputStream out = Files.newOutputStream(temp)) {
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
			if (size == 0) {
				add(this.notImages, path, "empty file");
				Files.delete(temp);
				return;
			}
			String archiveKind = archiveKind(readHead(temp, 512));
			if (archiveKind != null) {
				add(this.nested, path, "nested " + archiveKind + " archive; upload images only");
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
				add(ex.notAnImage() ? this.notImages : this.invalid, path, ex.getMessage());
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
				catch (IOException | RuntimeException ex) {
					throw corrupt("cannot read entry " + name + " (" + ex.getMessage() + ")");
				}
				if (n < 0) {
					return entryBytes;
				}
				entryBytes += n;
				this.totalBytes += n;
				if (this.totalBytes > limits.maxTotalUncompressedBytes()) {
					throw tooLarge("The archive expands to more than " + limits.maxTotalUncompressedBytes() + " bytes");
				}
				if (entryBytes > limits.ratioThresholdBytes()) {
					long compressed = entries.entryCompressedBytes();
					if (compressed >= 0 && entryBytes > limits.maxCompressionRatio() * Math.max(compressed, 1)) {
						throw tooLarge("Entry " + name + " expands more than " + limits.maxCompressionRatio()
								+ " times (compression ratio limit)");
					}
				}
				if (this.totalBytes > limits.ratioThresholdBytes()
						&& this.totalBytes > limits.maxCompressionRatio() * Math.max(this.archiveSize, 1)) {
					throw tooLarge("The archive expands more than " + limits.maxCompressionRatio()
							+ " times its size (compression ratio limit)");
				}
				if (out != null) {
					out.write(this.buffer, 0, n);
					digest.update(this.buffer, 0, n);
				}
			}
		}

		Extraction finish() {
			if (!this.unsafe.isEmpty()) {
				throw refusal(ProblemType.UNSAFE_ARCHIVE, this.unsafe,
						" archive entries could escape the dataset root or are links; nothing was stored");
			}
			if (!this.nested.isEmpty()) {
				throw refusal(ProblemType.NESTED_ARCHIVE, this.nested,
						" entries are archives themselves; upload one archive of images");
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
					this.invalid.add(notImage);
				}
				else {
					ignored.add(file);
				}
			}
			if (!this.invalid.isEmpty()) {
				throw refusal(ProblemType.INVALID_IMAGES, this.invalid, " files are not valid images");
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

	static ApiException refusal(ProblemType type, List<Map<String, String>> errors, String what) {
		ApiException ex = new ApiException(type, errors.size() + what);
		ex.with("errors", errors.subList(0, Math.min(errors.size(), MAX_REPORTED_ERRORS)));
		if (errors.size() > MAX_REPORTED_ERRORS) {
			ex.with("totalErrors", errors.size());
		}
		return ex;
	}

	/**
	 * The entry name as stored: zip readers turn backslashes of DOS-made entries into
	 * slashes, which would hide backslash tricks meant for Windows extractors.
	 */
	private static String rawName(ArchiveEntry entry) {
		if (entry instanceof ZipArchiveEntry zip && zip.getRawName() != null) {
			String raw = new String(zip.getRawName(), StandardCharsets.UTF_8);
			if (raw.indexOf('\\') >= 0) {
				return raw;
			}
		}
		return entry.getName();
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

	private static String unsafeType(ArchiveEntry entry) {
		if (entry instanceof TarArchiveEntry tar) {
			if (tar.isSymbolicLink()) {
				return "symbolic link (to " + tar.getLinkName() + ")";
			}
			if (tar.isLink()) {
				return "hard link (to " + tar.getLinkName() + ")";
			}
			if (!tar.isDirectory() && !tar.isFile()) {
				return "special file (device, FIFO or unknown type)";
			}
		}
		if (entry instanceof ZipArchiveEntry zip && zip.isUnixSymlink()) {
			return "symbolic link";
		}
		return null;
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

	private static ApiException tooLarge(String detail) {
		return new ApiException(ProblemType.ARCHIVE_TOO_LARGE, detail + "; nothing was stored");
	}

	private static ApiException corrupt(String detail) {
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

	/** The entries of a zip or tar stream, read one after the other. */
	private interface Entries extends Closeable {

		ArchiveEntry next() throws IOException;

		InputStream content();

		/**
		 * Compressed bytes consumed for the current entry so far, or -1 when not
		 * compressed.
		 */
		long entryCompressedBytes();

	}

	private static final class ZipEntries implements Entries {

		private final ZipArchiveInputStream zip;

		ZipEntries(ZipArchiveInputStream zip) {
			this.zip = zip;
		}

		@Override
		public ArchiveEntry next() throws IOException {
			return this.zip.getNextEntry();
		}

		@Override
		public InputStream content() {
			return this.zip;
		}

		@Override
		public long entryCompressedBytes() {
			return this.zip.getCompressedCount();
		}

		@Override
		public void close() throws IOException {
			this.zip.close();
		}

	}

	private static final class TarEntries implements Entries {

		private final TarArchiveInputStream tar;

		private final GzipCompressorInputStream gzip;

		private long compressedAtEntryStart;

		TarEntries(TarArchiveInputStream tar, GzipCompressorInputStream gzip) {
			this.tar = tar;
			this.gzip = gzip;
		}

		@Override
		public ArchiveEntry next() throws IOException {
			TarArchiveEntry entry = this.tar.getNextEntry();
			this.compressedAtEntryStart = (this.gzip != null) ? this.gzip.getCompressedCount() : 0;
			return entry;
		}

		@Override
		public InputStream content() {
			return this.tar;
		}

		/**
		 * A gzip stream spans entries, so this is the share consumed since the entry
		 * began.
		 */
		@Override
		public long entryCompressedBytes() {
			return (this.gzip != null) ? this.gzip.getCompressedCount() - this.compressedAtEntryStart : -1;
		}

		@Override
		public void close() throws IOException {
			this.tar.close();
		}

	}

}
