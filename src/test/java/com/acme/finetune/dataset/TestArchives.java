package com.acme.finetune.dataset;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/** Builds small archives and images in memory, so tests need no binary fixtures. */
public final class TestArchives {

	private final List<Entry> entries = new ArrayList<>();

	static TestArchives archive() {
		return new TestArchives();
	}

	TestArchives file(String name, byte[] content) {
		this.entries.add(new Entry(name, content, null, null));
		return this;
	}

	/** {@code count} distinct PNGs {@code prefix0.png …} of the given side. */
	TestArchives images(String folder, int count, int side) {
		for (int i = 0; i < count; i++) {
			file(folder + "/img" + i + ".png", png(folder.hashCode() * 31 + i, side, side));
		}
		return this;
	}

	TestArchives symlink(String name, String target) {
		this.entries.add(new Entry(name, null, target, TarConstants.LF_SYMLINK));
		return this;
	}

	TestArchives hardLink(String name, String target) {
		this.entries.add(new Entry(name, null, target, TarConstants.LF_LINK));
		return this;
	}

	/** A tar entry of another type: a device ({@code LF_CHR}, {@code LF_BLK}) or FIFO. */
	TestArchives special(String name, byte type) {
		this.entries.add(new Entry(name, null, "", type));
		return this;
	}

	/**
	 * A zip entry whose central directory carries this unix mode (e.g. {@code 0120777}
	 * for a symbolic link); its local header looks like any file's.
	 */
	TestArchives unixMode(String name, byte[] content, int mode) {
		this.entries.add(new Entry(name, content, null, null, mode));
		return this;
	}

	byte[] zip() {
		if (this.entries.stream().anyMatch((e) -> e.mode() != null)) {
			return zipWithModes();
		}
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
			for (Entry entry : this.entries) {
				zip.putNextEntry(new ZipEntry(entry.name()));
				zip.write(entry.content());
				zip.closeEntry();
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	private byte[] zipWithModes() {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(bytes)) {
			for (Entry entry : this.entries) {
				ZipArchiveEntry zipEntry = new ZipArchiveEntry(entry.name());
				if (entry.mode() != null) {
					zipEntry.setUnixMode(entry.mode());
				}
				zip.putArchiveEntry(zipEntry);
				zip.write(entry.content());
				zip.closeArchiveEntry();
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	/**
	 * A zip whose entries are stored (not compressed) and followed by a data descriptor,
	 * as streaming zip writers make them: the local headers carry no sizes.
	 */
	byte[] zipStoredWithDataDescriptors() {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try {
			writeStoredWithDataDescriptors(bytes,
					this.entries.stream()
						.map((e) -> new StoredEntry(e.name(), e.content().length, e.content()))
						.toList());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	/** An entry of {@code size} bytes: {@code content} repeated. */
	record StoredEntry(String name, long size, byte[] content) {
	}

	static void writeStoredWithDataDescriptors(OutputStream target, List<StoredEntry> entries) throws IOException {
		CountingOutputStream out = new CountingOutputStream(target);
		ByteArrayOutputStream directory = new ByteArrayOutputStream();
		for (StoredEntry entry : entries) {
			byte[] name = entry.name().getBytes(StandardCharsets.UTF_8);
			long offset = out.count;
			// local header: version 20, flags data descriptor + UTF-8, stored, no sizes
			out.write(le(0x04034b50, 4));
			out.write(le(20, 2));
			out.write(le(0x0808, 2));
			out.write(le(0, 2));
			out.write(le(0, 4));
			out.write(le(0, 4));
			out.write(le(0, 4));
			out.write(le(0, 4));
			out.write(le(name.length, 2));
			out.write(le(0, 2));
			out.write(name);
			CRC32 crc = new CRC32();
			for (long left = entry.size(); left > 0;) {
				int n = (int) Math.min(left, entry.content().length);
				out.write(entry.content(), 0, n);
				crc.update(entry.content(), 0, n);
				left -= n;
			}
			out.write(le(0x08074b50, 4));
			out.write(le(crc.getValue(), 4));
			out.write(le(entry.size(), 4));
			out.write(le(entry.size(), 4));
			directory.writeBytes(le(0x02014b50, 4));
			directory.writeBytes(le(0x0314, 2));
			directory.writeBytes(le(20, 2));
			directory.writeBytes(le(0x0808, 2));
			directory.writeBytes(le(0, 2));
			directory.writeBytes(le(0, 4));
			directory.writeBytes(le(crc.getValue(), 4));
			directory.writeBytes(le(entry.size(), 4));
			directory.writeBytes(le(entry.size(), 4));
			directory.writeBytes(le(name.length, 2));
			directory.writeBytes(le(0, 2));
			directory.writeBytes(le(0, 2));
			directory.writeBytes(le(0, 2));
			directory.writeBytes(le(0, 2));
			directory.writeBytes(le(0100644L << 16, 4));
			directory.writeBytes(le(offset, 4));
			directory.writeBytes(name);
		}
		long directoryOffset = out.count;
		out.write(directory.toByteArray());
		out.write(le(0x06054b50, 4));
		out.write(le(0, 2));
		out.write(le(0, 2));
		out.write(le(entries.size(), 2));
		out.write(le(entries.size(), 2));
		out.write(le(directory.size(), 4));
		out.write(le(directoryOffset, 4));
		out.write(le(0, 2));
		out.flush();
	}

	private static byte[] le(long value, int length) {
		byte[] bytes = new byte[length];
		for (int i = 0; i < length; i++) {
			bytes[i] = (byte) (value >>> (8 * i));
		}
		return bytes;
	}

	private static final class CountingOutputStream extends FilterOutputStream {

		private long count;

		CountingOutputStream(OutputStream out) {
			super(out);
		}

		@Override
		public void write(int b) throws IOException {
			this.out.write(b);
			this.count++;
		}

		@Override
		public void write(byte[] bytes, int offset, int length) throws IOException {
			this.out.write(bytes, offset, length);
			this.count += length;
		}

	}

	/** The archive as an uncompressed tar. */
	byte[] tar() {
		try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(tarGz()))) {
			return in.readAllBytes();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	byte[] tarGz() {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(bytes))) {
			tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
			for (Entry entry : this.entries) {
				TarArchiveEntry tarEntry;
				if (entry.linkType() != null) {
					tarEntry = new TarArchiveEntry(entry.name(), entry.linkType());
					tarEntry.setLinkName(entry.link());
				}
				else {
					// keep names exactly as given (leading slashes included) to test
					// hostile names
					tarEntry = new TarArchiveEntry(entry.name(), true);
					tarEntry.setSize(entry.content().length);
				}
				tar.putArchiveEntry(tarEntry);
				if (entry.content() != null) {
					tar.write(entry.content());
				}
				tar.closeArchiveEntry();
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	/** A distinct, noisy PNG: the seed fixes its content. */
	static byte[] png(int seed, int width, int height) {
		return encode(image(seed, width, height), "png");
	}

	static byte[] jpeg(int seed, int width, int height) {
		return encode(image(seed, width, height), "jpeg");
	}

	static BufferedImage image(int seed, int width, int height) {
		Random random = new Random(seed);
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		Graphics2D g = image.createGraphics();
		g.setColor(new Color(random.nextInt(0xffffff)));
		g.fillRect(0, 0, width, height);
		for (int i = 0; i < 8; i++) {
			g.setColor(new Color(random.nextInt(0xffffff)));
			g.fillOval(random.nextInt(width), random.nextInt(height), 1 + random.nextInt(width),
					1 + random.nextInt(height));
		}
		g.dispose();
		return image;
	}

	static byte[] encode(BufferedImage image, String format) {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try {
			if (!ImageIO.write(image, format, bytes)) {
				throw new IllegalStateException("No writer for " + format);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	static byte[] truncated(byte[] content) {
		return Arrays.copyOf(content, content.length / 2);
	}

	/** A PNG whose header declares a huge image but holds no pixel data. */
	static byte[] pngHeaderOnly(int width, int height) {
		ByteBuffer ihdr = ByteBuffer.allocate(13);
		ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		bytes.writeBytes(new byte[] { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' });
		chunk(bytes, "IHDR", ihdr.array());
		chunk(bytes, "IEND", new byte[0]);
		return bytes.toByteArray();
	}

	private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
		ByteBuffer length = ByteBuffer.allocate(4).putInt(data.length);
		out.writeBytes(length.array());
		CRC32 crc = new CRC32();
		crc.update(type.getBytes());
		crc.update(data);
		out.writeBytes(type.getBytes());
		out.writeBytes(data);
		out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
	}

	static byte[] random(int size, int seed) {
		byte[] bytes = new byte[size];
		new Random(seed).nextBytes(bytes);
		return bytes;
	}

	/** Bytes that deflate about 4:1: random values from a 4-symbol alphabet. */
	static byte[] lowEntropy(int size, int seed) {
		Random random = new Random(seed);
		byte[] bytes = new byte[size];
		for (int i = 0; i < size; i++) {
			bytes[i] = (byte) ('a' + random.nextInt(4));
		}
		return bytes;
	}

	private record Entry(String name, byte[] content, String link, Byte linkType, Integer mode) {

		Entry(String name, byte[] content, String link, Byte linkType) {
			this(name, content, link, linkType, null);
		}

	}

	/**
	 * Writes tar headers and data block by block, exactly as given: for hostile archives
	 * no tar writer would produce (chained long names, oversized pax headers, directories
	 * with data).
	 */
	public static final class RawTar {

		private final OutputStream out;

		public RawTar(OutputStream out) {
			this.out = out;
		}

		/** A ustar header; {@code size} bytes of data must follow. */
		public RawTar header(String name, char type, long size) throws IOException {
			byte[] block = new byte[512];
			byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
			System.arraycopy(nameBytes, 0, block, 0, Math.min(100, nameBytes.length));
			octal(block, 100, 8, 0644);
			octal(block, 108, 8, 0);
			octal(block, 116, 8, 0);
			octal(block, 124, 12, size);
			octal(block, 136, 12, 0);
			block[156] = (byte) type;
			System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, block, 257, 6);
			block[263] = '0';
			block[264] = '0';
			Arrays.fill(block, 148, 156, (byte) ' ');
			long sum = 0;
			for (byte b : block) {
				sum += b & 0xff;
			}
			octal(block, 148, 7, sum);
			this.out.write(block);
			return this;
		}

		/** Data of the last header, padded to the block. */
		public RawTar data(byte[] data) throws IOException {
			this.out.write(data);
			pad(data.length);
			return this;
		}

		/** {@code size} zero bytes of data, padded, written without holding them. */
		public RawTar zeros(long size) throws IOException {
			byte[] chunk = new byte[64 * 1024];
			for (long left = size; left > 0; left -= chunk.length) {
				this.out.write(chunk, 0, (int) Math.min(left, chunk.length));
			}
			pad(size);
			return this;
		}

		/** A file entry with its content. */
		public RawTar file(String name, byte[] content) throws IOException {
			return header(name, '0', content.length).data(content);
		}

		/** A pax header of these records, e.g. {@code "path=a/b"}. */
		public RawTar pax(String... records) throws IOException {
			return pax('x', records);
		}

		/** A global pax header, as {@code git archive} writes one. */
		public RawTar globalPax(String... records) throws IOException {
			return pax('g', records);
		}

		private RawTar pax(char type, String... records) throws IOException {
			ByteArrayOutputStream data = new ByteArrayOutputStream();
			for (String record : records) {
				byte[] body = (" " + record + "\n").getBytes(StandardCharsets.UTF_8);
				int length = body.length + 1;
				while (String.valueOf(length).length() + body.length != length) {
					length++;
				}
				data.writeBytes(String.valueOf(length).getBytes(StandardCharsets.UTF_8));
				data.writeBytes(body);
			}
			return header("PaxHeader", type, data.size()).data(data.toByteArray());
		}

		public void end() throws IOException {
			this.out.write(new byte[1024]);
			this.out.flush();
		}

		private void pad(long size) throws IOException {
			this.out.write(new byte[(int) ((512 - size % 512) % 512)]);
		}

		private static void octal(byte[] block, int offset, int length, long value) {
			String digits = Long.toOctalString(value);
			String field = "0".repeat(Math.max(0, length - 1 - digits.length())) + digits;
			byte[] bytes = field.getBytes(StandardCharsets.US_ASCII);
			System.arraycopy(bytes, 0, block, offset, Math.min(bytes.length, length - 1));
		}

	}

	/** A gzip stream of whatever {@code writer} writes. */
	static byte[] gzip(IoConsumer<OutputStream> writer) {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (GZIPOutputStream gzip = new GZIPOutputStream(bytes, 64 * 1024)) {
			writer.accept(gzip);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

	@FunctionalInterface
	interface IoConsumer<T> {

		void accept(T value) throws IOException;

	}

}
