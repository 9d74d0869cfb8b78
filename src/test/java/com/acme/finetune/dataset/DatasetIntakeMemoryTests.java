package com.acme.finetune.dataset;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Proves that intake is memory-bounded: a 200+ MB archive of distinct, incompressible
 * 1-megapixel images goes through copy, extraction, decoding and planning in a forked JVM
 * whose whole heap (64 MB) is smaller than a third of the archive.
 */
class DatasetIntakeMemoryTests {

	private static final int IMAGES = 70;

	@Test
	void twoHundredMegabyteArchiveFitsASmallHeap(@TempDir Path dir) throws Exception {
		Path archive = dir.resolve("big.zip");
		writeArchive(archive);
		assertThat(Files.size(archive)).isGreaterThan(200L * 1024 * 1024);

		String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
		Process process = new ProcessBuilder(java, "-Xmx64m", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
				"-cp", System.getProperty("java.class.path"), IntakeMemoryCheck.class.getName(), archive.toString(),
				dir.resolve("work").toString())
			.redirectErrorStream(true)
			.start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
		assertThat(process.exitValue()).as(output).isZero();
		assertThat(output).contains("files=" + IMAGES);
	}

	/**
	 * One noise PNG (incompressible, about 3 MB) made distinct per entry by a text chunk,
	 * stored uncompressed so that building the archive is fast.
	 */
	private static void writeArchive(Path archive) throws IOException {
		byte[] png = noisePng();
		int iend = png.length - 12;
		try (OutputStream file = Files.newOutputStream(archive); ZipOutputStream zip = new ZipOutputStream(file)) {
			for (int i = 0; i < IMAGES; i++) {
				ByteArrayOutputStream bytes = new ByteArrayOutputStream(png.length + 64);
				bytes.writeBytes(Arrays.copyOf(png, iend));
				bytes.writeBytes(chunk("tEXt", ("Comment\0copy " + i).getBytes(StandardCharsets.ISO_8859_1)));
				bytes.writeBytes(Arrays.copyOfRange(png, iend, png.length));
				byte[] content = bytes.toByteArray();
				ZipEntry entry = new ZipEntry(((i % 2 == 0) ? "cats/" : "dogs/") + "img" + i + ".png");
				entry.setMethod(ZipEntry.STORED);
				entry.setSize(content.length);
				entry.setCompressedSize(content.length);
				CRC32 crc = new CRC32();
				crc.update(content);
				entry.setCrc(crc.getValue());
				zip.putNextEntry(entry);
				zip.write(content);
				zip.closeEntry();
			}
		}
	}

	private static byte[] noisePng() {
		java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(1024, 1024,
				java.awt.image.BufferedImage.TYPE_INT_RGB);
		Random random = new Random(1);
		int[] pixels = new int[1024 * 1024];
		for (int i = 0; i < pixels.length; i++) {
			pixels[i] = random.nextInt(0x1000000);
		}
		image.setRGB(0, 0, 1024, 1024, pixels, 0, 1024);
		return TestArchives.encode(image, "png");
	}

	private static byte[] chunk(String type, byte[] data) {
		ByteBuffer buffer = ByteBuffer.allocate(12 + data.length);
		CRC32 crc = new CRC32();
		crc.update(type.getBytes(StandardCharsets.US_ASCII));
		crc.update(data);
		buffer.putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data).putInt((int) crc.getValue());
		return buffer.array();
	}

}
