package com.acme.finetune.model;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.artifact.PortableExport;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Service;

/**
 * Portable exports of models ({@link PortableExport}), built into a temporary file before
 * anything is sent, so a failure is a clean problem response rather than a truncated
 * download. One export runs at a time, on one thread (it holds a network's weights in
 * native memory, ~200 MB for a ResNet-50, and like model loads it reuses one malloc arena
 * that way); two more may wait, further requests are told to retry.
 */
@Service
class ModelExports implements DisposableBean {

	private static final Logger log = LoggerFactory.getLogger(ModelExports.class);

	static final List<String> FORMATS = List.of("safetensors");

	private final ModelCatalog catalog;

	private final DjlRuntime runtime;

	private final ArtifactStore store;

	private final ThreadPoolExecutor exporter = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
			new ArrayBlockingQueue<>(2), (task) -> {
				Thread thread = new Thread(task, "model-export");
				thread.setDaemon(true);
				return thread;
			});

	ModelExports(ModelCatalog catalog, DjlRuntime runtime, ArtifactStore store) {
		this.catalog = catalog;
		this.runtime = runtime;
		this.store = store;
	}

	/** Checks the request: a known format and an existing model (else 400 or 404). */
	Path check(UUID id, String format) {
		if (!FORMATS.contains(format)) {
			throw new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
					List.of(Map.of("field", "format", "message", "must be one of " + String.join(", ", FORMATS))));
		}
		return this.catalog.artifactDir(id);
	}

	/**
	 * Builds the export of the model in {@code dir}; the caller sends and deletes the
	 * file.
	 */
	Path build(UUID id, Path dir) {
		CompletableFuture<Path> result;
		try {
			result = CompletableFuture.supplyAsync(() -> buildNow(id, dir), this.exporter);
		}
		catch (RejectedExecutionException ex) {
			throw new ApiException(ProblemType.SERVICE_BUSY, "Other exports are running; retry shortly")
				.withHeader(HttpHeaders.RETRY_AFTER, "10");
		}
		try {
			return result.join();
		}
		catch (CompletionException ex) {
			if (ex.getCause() instanceof RuntimeException cause) {
				throw cause;
			}
			throw ex;
		}
	}

	private Path buildNow(UUID id, Path dir) {
		Path file = null;
		try {
			this.runtime.engine();
			file = this.store.createTempFile("export-", ".zip");
			long start = System.nanoTime();
			PortableExport.Layout layout;
			try (OutputStream out = Files.newOutputStream(file)) {
				layout = PortableExport.write(dir, id.toString(), out);
			}
			log.info("Model {} exported as {} in {} ms ({} MB)", id, layout.id(),
					(System.nanoTime() - start) / 1_000_000, Files.size(file) >> 20);
			return file;
		}
		catch (IOException ex) {
			deleteQuietly(file);
			if (!Files.isDirectory(dir)) {
				throw ApiException.notFound("Model", id);
			}
			throw new UncheckedIOException("Model " + id + " could not be exported", ex);
		}
		catch (RuntimeException | Error ex) {
			deleteQuietly(file);
			throw ex;
		}
	}

	static void deleteQuietly(Path file) {
		if (file == null) {
			return;
		}
		try {
			Files.deleteIfExists(file);
		}
		catch (IOException ex) {
			log.warn("Could not delete the temporary export {}", file);
		}
	}

	@Override
	public void destroy() {
		this.exporter.shutdownNow();
	}

}
