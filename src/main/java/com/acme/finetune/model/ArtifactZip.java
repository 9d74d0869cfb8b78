package com.acme.finetune.model;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Streams a model's artifact directory as a zip whose root is the model directory, so
 * that plain DJL loads the unpacked folder with {@code Criteria.optModelPath}. Files are
 * copied straight from disk to the response: a ~100 MB model never sits in memory.
 */
final class ArtifactZip {

	private ArtifactZip() {
	}

	static void write(Path dir, OutputStream target) throws IOException {
		List<Path> entries;
		try (Stream<Path> walk = Files.walk(dir)) {
			entries = walk.filter((p) -> !p.equals(dir) && (Files.isRegularFile(p) || Files.isDirectory(p)))
				.sorted()
				.toList();
		}
		// the caller owns the response stream; finish() writes the central directory
		// without closing it
		ZipOutputStream zip = new ZipOutputStream(target);
		// weights barely compress; the fastest level keeps the download CPU-cheap
		zip.setLevel(Deflater.BEST_SPEED);
		for (Path file : entries) {
			String name = dir.relativize(file).toString().replace('\\', '/');
			// folders get entries of their own (before what they hold: sorted), so tools
			// that create only what the zip lists unpack probe/ too
			boolean folder = Files.isDirectory(file);
			ZipEntry entry = new ZipEntry(folder ? name + "/" : name);
			entry.setTime(Files.getLastModifiedTime(file).toMillis());
			zip.putNextEntry(entry);
			if (!folder) {
				Files.copy(file, zip);
			}
			zip.closeEntry();
		}
		zip.finish();
		zip.flush();
	}

}
