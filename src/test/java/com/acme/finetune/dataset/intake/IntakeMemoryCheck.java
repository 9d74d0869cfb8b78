package com.acme.finetune.dataset.intake;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;

/**
 * Runs upload copy, extraction, image checks and planning on archives, as the service
 * does, so that {@link com.acme.finetune.dataset.DatasetIntakeMemoryTests} can run them
 * in a JVM with a small heap. Arguments: the archives, then a work directory. Prints, per
 * archive, {@code <name>: files=<n> heapMax=<bytes>} or
 * {@code <name>: refused=<problem type> <detail>}.
 */
public final class IntakeMemoryCheck {

	private IntakeMemoryCheck() {
	}

	public static void main(String[] args) throws Exception {
		Path root = Files.createDirectories(Path.of(args[args.length - 1]));
		DatasetProperties properties = new DatasetProperties(100_000, 10L * 1024 * 1024 * 1024, 100, 1024 * 1024,
				50_000_000, 2, 32, 10, 0.2, 0);
		for (int i = 0; i < args.length - 1; i++) {
			Path archive = Path.of(args[i]);
			Path work = Files.createDirectories(root.resolve("run" + i));
			String name = archive.getFileName().toString();
			try {
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
				System.out
					.println(name + ": files=" + plan.files().size() + " heapMax=" + Runtime.getRuntime().maxMemory());
			}
			catch (ApiException ex) {
				System.out.println(name + ": refused=" + ex.type().uri() + " " + ex.getMessage());
			}
			finally {
				ArtifactStore.deleteRecursively(work);
			}
		}
	}

}
