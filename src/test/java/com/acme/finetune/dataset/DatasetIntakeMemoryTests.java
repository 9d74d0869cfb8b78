package com.acme.finetune.dataset;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import com.acme.finetune.dataset.intake.IntakeMemoryCheck;
import com.acme.finetune.web.ProblemType;
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
	 * Headers that commons-compress collected in memory (or followed recursively) before
	 * any limit saw a byte: each is refused or read in a 64 MB heap, and the JVM neither
	 * runs out of memory (it would exit) nor of stack. 48 MB is beyond what a 64 MB heap
	 * can buffer (a growing buffer of 32 MB asks for 64).
	 */
	@Test
	void hostileHeadersFitASmallHeap(@TempDir Path dir) throws Exception {
		long big = 48L << 20;
		Path longName = gzipFile(dir.resolve("long-name.tar.gz"),
				(out) -> new TestArchives.RawTar(out).header("././@LongLink", 'L', big)
					.zeros(big)
					.file("cat/a.png", TestArchives.png(1, 40, 40))
					.end());
		Path pax = gzipFile(dir.resolve("pax.tar.gz"), (out) -> {
			TestArchives.RawTar tar = new TestArchives.RawTar(out);
			tar.header("PaxHeader", 'x', big);
			String start = big + " comment=";
			out.write(start.getBytes(StandardCharsets.US_ASCII));
			byte[] letters = new byte[64 * 1024];
			Arrays.fill(letters, (byte) 'a');
			for (long left = big - start.length() - 1; left > 0; left -= letters.length) {
				out.write(letters, 0, (int) Math.min(left, letters.length));
			}
			out.write('\n');
			tar.file("cat/a.png", TestArchives.png(1, 40, 40)).end();
		});
		Path chain = gzipFile(dir.resolve("chain.tar.gz"), (out) -> {
			TestArchives.RawTar tar = new TestArchives.RawTar(out);
			for (int i = 0; i < 200_000; i++) {
				tar.header("././@LongLink", 'L', 512).data(new byte[512]);
			}
			tar.file("cat/a.png", TestArchives.png(1, 40, 40)).end();
		});
		Path gzipName = dir.resolve("gzip-name.tar.gz");
		writeGzipWithFileName(gzipName, big, TestArchives.archive().images("cat", 2, 40).images("dog", 2, 40).tar());
		Path storedZip = dir.resolve("stored.zip");
		try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(storedZip), 1 << 16)) {
			TestArchives.writeStoredWithDataDescriptors(out,
					List.of(new TestArchives.StoredEntry("cat/big.png", big, TestArchives.random(1 << 16, 3))));
		}

		String output = runSmallHeap(dir, longName, pax, chain, gzipName, storedZip);
		String tooLarge = "refused=" + ProblemType.ARCHIVE_TOO_LARGE.uri();
		assertThat(output).contains("long-name.tar.gz: " + tooLarge, "declares " + big + " bytes, over the limit")
			.contains("pax.tar.gz: " + tooLarge)
			.contains("chain.tar.gz: " + tooLarge, "More than 16 extended tar headers")
			.contains("gzip-name.tar.gz: files=4")
			.contains("stored.zip: refused=" + ProblemType.INVALID_ARCHIVE.uri(), "data descriptor");
	}

	private static String runSmallHeap(Path dir, Path... archives) throws Exception {
		String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
		List<String> command = new ArrayList<>(
				List.of(java, "-Xmx64m", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true", "-cp",
						System.getProperty("java.class.path"), IntakeMemoryCheck.class.getName()));
		for (Path archive : archives) {
			command.add(archive.toString());
		}
		command.add(dir.resolve("work").toString());
		Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
		assertThat(process.exitValue()).as(output).isZero();
		return output;
	}

	private static Path gzipFile(Path file, TestArchives.IoConsumer<OutputStream> writer) throws IOException {
		try (OutputStream out = new GZIPOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16),
				1 << 16) {

			{
				this.def.setLevel(Deflater.BEST_SPEED);
			}

		}) {
			writer.accept(out);
		}
		return file;
	}

	/** A gzip member whose header's file name field is {@code nameBytes} long. */
	private static void writeGzipWithFileName(Path file, long nameBytes, byte[] content) throws IOException {
		try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
			// magic, deflate, FNAME flag, mtime, extra flags, OS
			out.write(new byte[] { 0x1f, (byte) 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3 });
			byte[] letters = new byte[64 * 1024];
			Arrays.fill(letters, (byte) 'n');
			for (long left = nameBytes; left > 0; left -= letters.length) {
				out.write(letters, 0, (int) Math.min(left, letters.length));
			}
			out.write(0);
			Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
			try (DeflaterOutputStream deflate = new DeflaterOutputStream(new FilterOutputStream(out) {

				@Override
				public void close() throws IOException {
					flush();
				}

			}, deflater)) {
				deflate.write(content);
			}
			deflater.end();
			CRC32 crc = new CRC32();
			crc.update(content);
			out.write(ByteBuffer.allocate(8)
				.order(ByteOrder.LITTLE_ENDIAN)
				.putInt((int) crc.getValue())
				.putInt(content.length)
				.array());
		}
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
