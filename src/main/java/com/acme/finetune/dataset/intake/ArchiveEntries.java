package com.acme.finetune.dataset.intake;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;

/**
 * The entries of an uploaded archive, read one after the other as {@link Entry}s: a zip
 * through commons-compress's streaming reader, a tar (plain or gzip-compressed) through
 * {@link TarReader}. Each gives the entry's data as a stream and counts the bytes the
 * extraction limits are judged on.
 */
final class ArchiveEntries {

	private ArchiveEntries() {
	}

	/**
	 * Opens the archive as a zip or a tar (plain or gzip-compressed), recognised by its
	 * content. A zip's central directory is scanned first: entries it marks as links,
	 * devices or FIFOs go to {@code unsafe}.
	 */
	static Entries open(Path archive, DatasetProperties properties, IntakeProblems unsafe) throws IOException {
		byte[] head = ArchiveFormats.readHead(archive, 512);
		long maxBytes = properties.maxTotalUncompressedBytes();
		if (ArchiveFormats.isZip(head)) {
			ZipCentralDirectory.scan(archive, properties.maxEntries(), (name, reason) -> unsafe.add(name, reason));
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), ArchiveIntake.BUFFER);
			// stored entries with a data descriptor are refused: this reader would buffer
			// them whole in memory to find their end
			ZipArchiveInputStream zip = new ZipArchiveInputStream(in, "UTF-8", true, false);
			return new ZipEntries(zip);
		}
		if (ArchiveFormats.isGzip(head)) {
			// the JDK's reader skips the gzip header's name and comment fields byte by
			// byte; commons-compress's collects them in memory without bound
			CountingInputStream raw = new CountingInputStream(
					new BufferedInputStream(Files.newInputStream(archive), ArchiveIntake.BUFFER));
			BufferedInputStream tarStream;
			try {
				tarStream = new BufferedInputStream(new GZIPInputStream(raw, ArchiveIntake.BUFFER),
						ArchiveIntake.BUFFER);
			}
			catch (IOException ex) {
				raw.close();
				throw IntakeProblems.corrupt("the gzip stream cannot be read (" + ex.getMessage() + ")");
			}
			byte[] tarHead = new byte[512];
			tarStream.mark(512);
			int n;
			try {
				n = tarStream.readNBytes(tarHead, 0, 512);
			}
			catch (IOException ex) {
				tarStream.close();
				throw IntakeProblems.corrupt("the gzip stream cannot be read (" + ex.getMessage() + ")");
			}
			tarStream.reset();
			if (!ArchiveFormats.isTar(Arrays.copyOf(tarHead, n))) {
				tarStream.close();
				throw new ApiException(ProblemType.INVALID_ARCHIVE,
						"The upload is gzip-compressed but does not contain a tar archive");
			}
			return new TarEntries(new TarReader(tarStream, maxBytes), tarStream, raw);
		}
		if (ArchiveFormats.isTar(head)) {
			InputStream in = new BufferedInputStream(Files.newInputStream(archive), ArchiveIntake.BUFFER);
			return new TarEntries(new TarReader(in, maxBytes), in, null);
		}
		throw new ApiException(ProblemType.INVALID_ARCHIVE,
				"The upload is not a zip or tar.gz archive (recognized by content, not by name)");
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
	interface Entries extends Closeable {

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
