package com.acme.finetune.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.process.ChildJvm;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.BackboneInfo;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.TorchScriptPolicy;
import com.acme.finetune.training.UnsafeTorchScriptException;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.stereotype.Component;

/**
 * Inspects TorchScript the service has not accepted yet: first
 * {@link TorchScriptPolicy}'s allow-list, read in this process without running anything,
 * then loading and a forward pass on a dummy batch in a child JVM
 * ({@link InspectionMain}) under a wall-clock limit, an address-space limit and few
 * threads. Whatever the graph does there (loops, crashes libtorch, allocates without
 * bound) ends that process; here it becomes an {@link InvalidBackboneException} saying
 * which it was.
 */
@Component
public class TorchScriptSandbox {

	private static final Logger log = LoggerFactory.getLogger(TorchScriptSandbox.class);

	static final ObjectMapper JSON = JsonMapper.builder()
		.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
		.build();

	/** Longest line kept from the child's output, and how many lines are kept. */
	private static final int MAX_LINE = 65536;

	private static final int KEPT_LINES = 20;

	private static final int MAX_DETAIL = 2000;

	private final SandboxProperties properties;

	private final ArtifactStore store;

	private final Semaphore slots;

	public TorchScriptSandbox(SandboxProperties properties, ArtifactStore store) {
		this.properties = properties;
		this.store = store;
		this.slots = new Semaphore(properties.maxConcurrent(), true);
	}

	/**
	 * What a TorchScript file offers as a backbone, checked with images of
	 * {@code imageSize} pixels.
	 * @throws UnsafeTorchScriptException if its code is outside the allow-list
	 * @throws InvalidBackboneException if it cannot be used: unreadable, fails or does
	 * not map images to feature vectors, runs past the time limit, or kills the process
	 * @throws ApiException 503 when every inspection slot stays busy for the time limit
	 */
	public BackboneInfo inspect(Path file, int imageSize) {
		TorchScriptPolicy.check(file);
		boolean acquired;
		try {
			acquired = this.slots.tryAcquire(this.properties.timeout().toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while waiting for an inspection slot", ex);
		}
		if (!acquired) {
			throw new ApiException(ProblemType.SERVICE_BUSY,
					"Every TorchScript inspection slot (" + this.properties.maxConcurrent()
							+ ") stayed busy; retry later")
				.withHeader("Retry-After", Long.toString(this.properties.timeout().toSeconds()));
		}
		Path workDir = null;
		try {
			workDir = this.store.createTempDirectory("inspection-");
			return run(file.toAbsolutePath(), imageSize, workDir);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("The inspection process could not be started", ex);
		}
		finally {
			this.slots.release();
			deleteQuietly(workDir);
		}
	}

	private BackboneInfo run(Path file, int imageSize, Path workDir) throws IOException {
		List<String> options = new ArrayList<>(this.properties.jvmOptions());
		options.add("-Dai.djl.pytorch.num_threads=" + this.properties.threads());
		options.add("-Dai.djl.pytorch.num_interop_threads=1");
		options.add("-XX:ErrorFile=" + workDir.resolve("hs_err_%p.log"));
		ProcessBuilder builder = ChildJvm.builder(InspectionMain.class,
				List.of(file.toString(), Integer.toString(imageSize)), options, workDir,
				this.properties.memoryLimit().toBytes());
		builder.environment().put("OMP_NUM_THREADS", Integer.toString(this.properties.threads()));
		builder.environment().put("MKL_NUM_THREADS", Integer.toString(this.properties.threads()));
		long start = System.nanoTime();
		Process process = builder.start();
		process.getOutputStream().close();
		Output output = new Output(process.getInputStream());
		Thread reader = new Thread(output, "inspection-output-" + process.pid());
		reader.setDaemon(true);
		reader.start();
		boolean finished;
		try {
			finished = process.waitFor(this.properties.timeout().toMillis(), TimeUnit.MILLISECONDS);
			if (!finished) {
				ChildJvm.kill(process);
				process.waitFor(10, TimeUnit.SECONDS);
			}
			reader.join(5_000);
		}
		catch (InterruptedException ex) {
			ChildJvm.kill(process);
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted during a TorchScript inspection", ex);
		}
		long millis = (System.nanoTime() - start) / 1_000_000;
		if (!finished) {
			log.warn("TorchScript inspection of {} killed after {} ms", file.getFileName(), millis);
			throw new InvalidBackboneException("Loading the module and a forward pass on a dummy batch (2, 3, "
					+ imageSize + ", " + imageSize + ") did not finish within the inspection's time limit of "
					+ this.properties.timeout().toSeconds()
					+ " s; a backbone that never returns (an endless loop) or takes that long on two images cannot "
					+ "be served", null);
		}
		InspectionMain.Report report = output.report();
		if (report == null) {
			int exit = process.exitValue();
			log.warn("TorchScript inspection of {} died with exit code {} after {} ms; its last output:\n{}",
					file.getFileName(), exit, millis, String.join("\n", output.tail()));
			throw new InvalidBackboneException("The inspection process died while loading the module or running "
					+ "it on a dummy batch (exit code " + exit + ((exit > 128) ? ", signal " + (exit - 128) : "")
					+ "): the graph crashes libtorch, or needs more than the inspection's memory limit of "
					+ this.properties.memoryLimit().toMegabytes() + " MB", null);
		}
		log.info("TorchScript inspection of {} took {} ms: {}", file.getFileName(), millis,
				(report.info() != null) ? "accepted" : "refused");
		if (report.info() != null) {
			return report.info();
		}
		String detail = shorten(report.error());
		if (report.refused() != null && !report.refused().isEmpty()) {
			throw new UnsafeTorchScriptException(detail, report.refused());
		}
		throw new InvalidBackboneException(detail, null);
	}

	private static String shorten(String message) {
		if (message == null) {
			return "The inspection gave no reason";
		}
		return (message.length() <= MAX_DETAIL) ? message : message.substring(0, MAX_DETAIL) + "…";
	}

	private static void deleteQuietly(Path dir) {
		if (dir != null) {
			try {
				ArtifactStore.deleteRecursively(dir);
			}
			catch (IOException ex) {
				// a leftover directory is cleaned with the temp directory
			}
		}
	}

	/**
	 * Reads the child's output: the report line, and the last few other lines (each cut
	 * at {@value #MAX_LINE} characters) for the log. Memory stays bounded whatever the
	 * child prints.
	 */
	private static final class Output implements Runnable {

		private final InputStream in;

		private final Deque<String> tail = new ArrayDeque<>();

		private volatile InspectionMain.Report report;

		Output(InputStream in) {
			this.in = in;
		}

		@Override
		public void run() {
			try (Reader reader = new InputStreamReader(this.in, StandardCharsets.UTF_8)) {
				StringBuilder line = new StringBuilder();
				int c;
				while ((c = reader.read()) >= 0) {
					if (c == '\n') {
						accept(line.toString());
						line.setLength(0);
					}
					else if (line.length() < MAX_LINE) {
						line.append((char) c);
					}
				}
				if (line.length() > 0) {
					accept(line.toString());
				}
			}
			catch (IOException ex) {
				// the process is gone; what was read is all there is
			}
		}

		private void accept(String line) {
			if (line.startsWith(InspectionMain.PREFIX)) {
				try {
					this.report = JSON.readValue(line.substring(InspectionMain.PREFIX.length()),
							InspectionMain.Report.class);
				}
				catch (RuntimeException ex) {
					log.warn("Unreadable inspection report: {}", ex.toString());
				}
				return;
			}
			synchronized (this.tail) {
				this.tail.addLast(line);
				if (this.tail.size() > KEPT_LINES) {
					this.tail.removeFirst();
				}
			}
		}

		InspectionMain.Report report() {
			return this.report;
		}

		List<String> tail() {
			synchronized (this.tail) {
				return new ArrayList<>(this.tail);
			}
		}

	}

}
