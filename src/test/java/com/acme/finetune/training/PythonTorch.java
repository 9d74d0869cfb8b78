package com.acme.finetune.training;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Python with PyTorch and torchvision for tests that compare against them: the
 * interpreter named by {@code PYTHON_TORCH}, else Debian's {@code /usr/bin/python3}
 * ({@code apt-get install python3-torch python3-torchvision}), else {@code python3} on
 * the PATH. Nothing is installed here; without one, {@link #unavailableReason()} says why
 * and the tests skip.
 */
final class PythonTorch {

	private static final Path SCRIPTS = Path.of("src", "test", "python");

	private static String interpreter;

	private static String unavailable;

	private PythonTorch() {
	}

	/** Why there is no usable Python, or null when there is one. */
	static synchronized String unavailableReason() {
		if (interpreter != null || unavailable != null) {
			return unavailable;
		}
		List<String> candidates = new ArrayList<>();
		String configured = System.getenv("PYTHON_TORCH");
		if (configured != null && !configured.isBlank()) {
			candidates.add(configured);
		}
		candidates.add("/usr/bin/python3");
		candidates.add("python3");
		StringBuilder tried = new StringBuilder();
		for (String candidate : candidates) {
			try {
				Result r = run(candidate, 120, "-c", "import torch, torchvision, numpy, PIL; print(torch.__version__)");
				if (r.exit() == 0) {
					interpreter = candidate;
					return null;
				}
				tried.append(candidate).append(": ").append(lastLine(r.output())).append("; ");
			}
			catch (IOException ex) {
				tried.append(candidate).append(": ").append(ex.getMessage()).append("; ");
			}
		}
		unavailable = "no Python with torch, torchvision, numpy and PIL (" + tried
				+ "install python3-torch python3-torchvision or set PYTHON_TORCH)";
		return unavailable;
	}

	/** Runs one of {@code src/test/python}'s scripts. */
	static Result script(String name, long timeoutSeconds, String... args) throws IOException {
		List<String> command = new ArrayList<>();
		command.add(SCRIPTS.resolve(name).toAbsolutePath().toString());
		command.addAll(List.of(args));
		return run(interpreter, timeoutSeconds, command.toArray(new String[0]));
	}

	private static Result run(String python, long timeoutSeconds, String... args) throws IOException {
		List<String> command = new ArrayList<>();
		command.add(python);
		command.addAll(List.of(args));
		Path log = Files.createTempFile("python-", ".log");
		try {
			ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
			// one thread: the JVM's PyTorch runs beside it on a small machine
			builder.environment().put("OMP_NUM_THREADS", "1");
			Process process = builder.start();
			boolean done = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
			if (!done) {
				process.destroyForcibly();
				throw new IOException("timed out after " + timeoutSeconds + " s");
			}
			return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IOException("interrupted", ex);
		}
		finally {
			Files.deleteIfExists(log);
		}
	}

	static String lastLine(String output) {
		String[] lines = output.strip().split("\n");
		return lines[lines.length - 1];
	}

	record Result(int exit, String output) {
	}

}
