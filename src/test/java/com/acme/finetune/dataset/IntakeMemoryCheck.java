package com.acme.finetune.dataset;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs upload copy, extraction, image checks and planning on one archive, as the service
 * does, so that {@link DatasetIntakeMemoryTests} can run it in a JVM with a small heap.
 * Prints {@code files=<n> heapMax=<bytes>} on success.
 */
public final class IntakeMemoryCheck {

	private IntakeMemoryCheck() {
	}

	public static void main(String[] args) throws Exception {
		Path archive = Path.of(args[0]);
		Path work = Files.createDirectories(Path.of(args[1]));
		DatasetProperties properties = new DatasetProperties(100_000, 10L * 1024 * 1024 * 1024, 100, 1024 * 1024,
				50_000_000, 2, 32, 10, 0.2, 0);
		// the same streaming copy the service makes of the multipart upload
		Path upload = work.resolve("upload");
		try (InputStream in = Files.newInputStream(archive); OutputStream out = Files.newOutputStream(upload)) {
			in.transferTo(out);
		}
		Path files = Files.createDirectories(work.resolve("files"));
		List<ArchiveIntake.ExtractedFile> extracted = new ArchiveIntake(properties,
				new DiskGuard(new DiskSpace(), work, 0))
			.extract(upload, files)
			.images();
		DatasetPlanner.Plan plan = new DatasetPlanner(properties).plan(extracted, 0.2);
		System.out.println("files=" + plan.files().size() + " heapMax=" + Runtime.getRuntime().maxMemory());
	}

}
