package com.acme.finetune.dataset;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/** Builds small archives and images in memory, so tests need no binary fixtures. */
final class TestArchives {

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

	byte[] zip() {
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

	private record Entry(String name, byte[] content, String link, Byte linkType) {
	}

}
