package com.acme.finetune.process;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a main class of this service in a child JVM on this JVM's class path: the
 * training process of a job, the sandbox that inspects uploaded TorchScript. A native
 * crash, an out-of-memory kill or a hang in libtorch then ends that process, not the
 * service. Works whether the service runs from an IDE/Maven (plain class path) or from
 * its executable jar or extracted layers (Spring Boot's launcher, which needs
 * {@code loader.main}).
 */
public final class ChildJvm {

	private static final Logger log = LoggerFactory.getLogger(ChildJvm.class);

	private static final Path SHELL = Path.of("/bin/sh");

	private ChildJvm() {
	}

	/**
	 * A builder for the child process, output and errors merged, started in
	 * {@code workDir} (created if needed).
	 * @param addressSpaceLimit bytes of virtual memory the child may map (the shell's
	 * {@code ulimit -v}, so native allocations fail beyond it instead of exhausting the
	 * node); 0 for no limit, and none where there is no POSIX shell
	 */
	public static ProcessBuilder builder(Class<?> mainClass, List<String> args, List<String> jvmOptions, Path workDir,
			long addressSpaceLimit) throws IOException {
		Files.createDirectories(workDir);
		List<String> command = command(mainClass, args, jvmOptions, workDir);
		if (addressSpaceLimit > 0) {
			command = withAddressSpaceLimit(command, addressSpaceLimit);
		}
		ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).directory(workDir.toFile());
		Map<String, String> env = builder.environment();
		env.put("GLIBC_TUNABLES", mallocTunables(env.get("GLIBC_TUNABLES")));
		env.putIfAbsent("OPT_OUT_TRACKING", "true");
		return builder;
	}

	/** Kills a child and everything it started. */
	public static void kill(Process process) {
		process.descendants().forEach(ProcessHandle::destroyForcibly);
		process.destroyForcibly();
	}

	/**
	 * glibc malloc settings for a child JVM running libtorch: the inherited ones (the
	 * environment's) or ones that keep freed memory instead of handing it back to the
	 * kernel (the default makes libtorch fault its tensors' pages in again on every step:
	 * 1.3-1.9x slower), plus a single arena unless the inherited settings choose: a JVM
	 * thread otherwise gets its own arena, whose 64 MiB heaps are unmapped as soon as
	 * they are empty, so batch-sized tensors (~50 MiB at 224 px, batch 16) come back as
	 * fresh pages every step whatever the other settings say.
	 */
	public static String mallocTunables(String inherited) {
		String tunables = (inherited == null || inherited.isBlank())
				? "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184" : inherited;
		return tunables.contains("glibc.malloc.arena_max") ? tunables : tunables + ":glibc.malloc.arena_max=1";
	}

	/** {@code java [options] [-D…] @classpath.args <main> [args]}. */
	static List<String> command(Class<?> mainClass, List<String> args, List<String> jvmOptions, Path workDir)
			throws IOException {
		List<String> command = new ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		System.getProperties()
			.stringPropertyNames()
			.stream()
			.filter(ChildJvm::forwarded)
			.sorted()
			.forEach((name) -> command.add("-D" + name + "=" + System.getProperty(name)));
		// after the forwarded properties: a later -D wins, so callers can override them
		command.addAll(jvmOptions);
		// the class path goes into an argument file: it can be longer than a command line
		Path classPath = workDir.resolve("classpath.args");
		String quoted = absolute(System.getProperty("java.class.path")).replace("\\", "\\\\").replace("\"", "\\\"");
		Files.writeString(classPath, "-cp \"" + quoted + "\"\n");
		command.add("@" + classPath);
		if (launchedBySpringBootLoader()) {
			command.add("-Dloader.main=" + mainClass.getName());
			command.add("org.springframework.boot.loader.launch.PropertiesLauncher");
		}
		else {
			command.add(mainClass.getName());
		}
		command.addAll(args);
		return command;
	}

	/**
	 * {@code /bin/sh -c 'ulimit -v <KiB> || exit 97; exec "$@"' …}: the limit is set in
	 * the shell, which then becomes the JVM (same process id).
	 */
	static List<String> withAddressSpaceLimit(List<String> command, long bytes) {
		if (!Files.isExecutable(SHELL)) {
			log.warn("No {} on this system: child processes run without a memory limit", SHELL);
			return command;
		}
		List<String> wrapped = new ArrayList<>(List.of(SHELL.toString(), "-c",
				"ulimit -v \"$1\" || exit 97; shift; exec \"$@\"", "sh", Long.toString(Math.max(1, bytes / 1024))));
		wrapped.addAll(command);
		return wrapped;
	}

	/**
	 * The class path with every entry made absolute: the child runs in its work
	 * directory, where a relative entry ({@code java -jar target/app.jar} gives one)
	 * would not resolve. {@code File}, not {@code Path}: a wildcard entry is not a valid
	 * path on Windows.
	 */
	public static String absolute(String classPath) {
		return Arrays.stream(classPath.split(File.pathSeparator))
			.map((entry) -> entry.isEmpty() ? entry : new File(entry).getAbsolutePath())
			.collect(Collectors.joining(File.pathSeparator));
	}

	private static boolean forwarded(String name) {
		return name.startsWith("ai.djl.") || name.equals("DJL_CACHE_DIR") || name.equals("ENGINE_CACHE_DIR")
				|| name.equals("OPT_OUT_TRACKING") || name.equals("java.io.tmpdir");
	}

	private static boolean launchedBySpringBootLoader() {
		ClassLoader loader = ChildJvm.class.getClassLoader();
		return loader != null && loader.getClass().getName().startsWith("org.springframework.boot.loader");
	}

}
