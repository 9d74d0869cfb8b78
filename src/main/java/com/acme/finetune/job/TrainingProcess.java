package com.acme.finetune.job;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.FinetuneApplication;
import com.acme.finetune.job.TrainingProcessProtocol.Message;
import com.acme.finetune.job.TrainingProcessProtocol.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A running training process, seen from the worker: started with the worker's own class
 * path, fed a request file, read line by line, and told to stop through its stdin.
 */
final class TrainingProcess implements AutoCloseable {

	private static final Logger log = LoggerFactory.getLogger(TrainingProcess.class);

	/** Marks the end of the process's output in {@link #messages}. */
	private static final Message EXITED = new Message("exited", null, null, null, null, null, null, null, null, null,
			null);

	private final Process process;

	private final OutputStream commands;

	private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();

	private TrainingProcess(Process process) {
		this.process = process;
		this.commands = process.getOutputStream();
	}

	static TrainingProcess start(Request request, Path workDir, List<String> jvmOptions) throws IOException {
		Files.createDirectories(workDir);
		Path requestFile = workDir.resolve("request.json");
		Files.writeString(requestFile, TrainingProcessProtocol.JSON.writeValueAsString(request));
		ProcessBuilder builder = new ProcessBuilder(command(requestFile, jvmOptions, workDir)).redirectErrorStream(true)
			.directory(workDir.toFile());
		Map<String, String> env = builder.environment();
		env.put("GLIBC_TUNABLES", mallocTunables(env.get("GLIBC_TUNABLES")));
		env.putIfAbsent("OPT_OUT_TRACKING", "true");
		TrainingProcess training = new TrainingProcess(builder.start());
		training.pump(MDC.getCopyOfContextMap());
		return training;
	}

	/**
	 * glibc malloc settings for the training JVM: the inherited ones (the environment's)
	 * or ones that keep freed memory instead of handing it back to the kernel (the
	 * default makes libtorch fault its tensors' pages in again on every step: 1.3-1.9x
	 * slower), plus a single arena unless the inherited settings choose: a JVM thread
	 * otherwise gets its own arena, whose 64 MiB heaps are unmapped as soon as they are
	 * empty, so batch-sized tensors (~50 MiB at 224 px, batch 16) come back as fresh
	 * pages every step whatever the other settings say.
	 */
	static String mallocTunables(String inherited) {
		String tunables = (inherited == null || inherited.isBlank())
				? "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184" : inherited;
		return tunables.contains("glibc.malloc.arena_max") ? tunables : tunables + ":glibc.malloc.arena_max=1";
	}

	/**
	 * The command that starts {@link TrainingProcessMain} on this JVM's class path,
	 * whether the service runs from an IDE/Maven (plain class path) or from its
	 * executable jar or extracted layers (Spring Boot's launcher, which needs
	 * {@code loader.main}).
	 */
	static List<String> command(Path requestFile, List<String> jvmOptions, Path workDir) throws IOException {
		List<String> command = new ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		command.addAll(jvmOptions);
		System.getProperties()
			.stringPropertyNames()
			.stream()
			.filter(TrainingProcess::forwarded)
			.sorted()
			.forEach((name) -> command.add("-D" + name + "=" + System.getProperty(name)));
		// the class path goes into an argument file: it can be longer than a command line
		Path classPath = workDir.resolve("classpath.args");
		String quoted = absolute(System.getProperty("java.class.path")).replace("\\", "\\\\").replace("\"", "\\\"");
		Files.writeString(classPath, "-cp \"" + quoted + "\"\n");
		command.add("@" + classPath);
		if (launchedBySpringBootLoader()) {
			command.add("-Dloader.main=" + TrainingProcessMain.class.getName());
			command.add("org.springframework.boot.loader.launch.PropertiesLauncher");
		}
		else {
			command.add(TrainingProcessMain.class.getName());
		}
		command.add(requestFile.toString());
		return command;
	}

	/**
	 * The class path with every entry made absolute: the child runs in its work
	 * directory, where a relative entry ({@code java -jar target/app.jar} gives one)
	 * would not resolve. {@code File}, not {@code Path}: a wildcard entry is not a valid
	 * path on Windows.
	 */
	static String absolute(String classPath) {
		return java.util.Arrays.stream(classPath.split(java.io.File.pathSeparator))
			.map((entry) -> entry.isEmpty() ? entry : new java.io.File(entry).getAbsolutePath())
			.collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
	}

	private static boolean forwarded(String name) {
		return name.startsWith("ai.djl.") || name.equals("DJL_CACHE_DIR") || name.equals("ENGINE_CACHE_DIR")
				|| name.equals("OPT_OUT_TRACKING") || name.equals("java.io.tmpdir");
	}

	private static boolean launchedBySpringBootLoader() {
		ClassLoader loader = FinetuneApplication.class.getClassLoader();
		return loader != null && loader.getClass().getName().startsWith("org.springframework.boot.loader");
	}

	private void pump(Map<String, String> mdc) {
		Thread reader = new Thread(() -> {
			if (mdc != null) {
				MDC.setContextMap(mdc);
			}
			try (BufferedReader in = new BufferedReader(
					new InputStreamReader(this.process.getInputStream(), StandardCharsets.UTF_8))) {
				String line;
				while ((line = in.readLine()) != null) {
					if (line.startsWith(TrainingProcessProtocol.PREFIX)) {
						this.messages.add(TrainingProcessProtocol.JSON
							.readValue(line.substring(TrainingProcessProtocol.PREFIX.length()), Message.class));
					}
					else if (!line.isBlank()) {
						log.info("[training pid {}] {}", this.process.pid(), line);
					}
				}
			}
			catch (Exception ex) {
				log.warn("Lost the training process's output: {}", ex.toString());
			}
			finally {
				this.messages.add(EXITED);
			}
		}, "training-output-" + this.process.pid());
		reader.setDaemon(true);
		reader.start();
	}

	/**
	 * The next message, or null after the timeout; {@link #isEnd} tells the end apart.
	 */
	Message poll(long timeoutMillis) throws InterruptedException {
		return this.messages.poll(timeoutMillis, TimeUnit.MILLISECONDS);
	}

	static boolean isEnd(Message message) {
		return message == EXITED;
	}

	void send(String command) {
		try {
			this.commands.write((command + "\n").getBytes(StandardCharsets.UTF_8));
			this.commands.flush();
		}
		catch (IOException ex) {
			// the process is already gone; its exit is handled by the caller
		}
	}

	long pid() {
		return this.process.pid();
	}

	boolean isAlive() {
		return this.process.isAlive();
	}

	int waitForExit(long timeoutMillis) throws InterruptedException {
		if (this.process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
			return this.process.exitValue();
		}
		return Integer.MIN_VALUE;
	}

	void kill() {
		this.process.descendants().forEach(ProcessHandle::destroyForcibly);
		this.process.destroyForcibly();
	}

	@Override
	public void close() {
		if (this.process.isAlive()) {
			kill();
		}
		try {
			this.commands.close();
		}
		catch (IOException ex) {
			// nothing to do
		}
	}

}
