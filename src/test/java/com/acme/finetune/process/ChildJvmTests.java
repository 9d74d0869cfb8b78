package com.acme.finetune.process;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

class ChildJvmTests {

	@Test
	void relativeClassPathEntriesBecomeAbsolute() {
		// java -jar target/app.jar reports a relative class path; the child process
		// starts in another directory
		String classPath = String.join(File.pathSeparator, "target/app.jar", "", "lib/*");
		assertThat(ChildJvm.absolute(classPath).split(File.pathSeparator, -1))
			.containsExactly(new File("target/app.jar").getAbsolutePath(), "", new File("lib/*").getAbsolutePath());
	}

	@Test
	void childrenGetOneMallocArenaUnlessTheEnvironmentChooses() {
		assertThat(ChildJvm.mallocTunables(null))
			.isEqualTo("glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1");
		assertThat(ChildJvm.mallocTunables("glibc.malloc.trim_threshold=1"))
			.isEqualTo("glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=1");
		assertThat(ChildJvm.mallocTunables("glibc.malloc.arena_max=4")).isEqualTo("glibc.malloc.arena_max=4");
	}

	@Test
	@EnabledOnOs({ OS.LINUX, OS.MAC })
	void theAddressSpaceLimitBindsTheChild(@TempDir Path dir) throws Exception {
		// a JVM cannot even reserve its heap in 64 MiB of address space
		Process limited = ChildJvm.builder(Probe.class, List.of(), List.of("-Xmx16m"), dir, 64L << 20).start();
		assertThat(limited.waitFor(60, TimeUnit.SECONDS)).isTrue();
		assertThat(limited.exitValue()).isNotZero();
		Process unlimited = ChildJvm.builder(Probe.class, List.of("ok"), List.of("-Xmx16m"), dir, 0).start();
		assertThat(unlimited.waitFor(60, TimeUnit.SECONDS)).isTrue();
		assertThat(new String(unlimited.getInputStream().readAllBytes())).contains("probe ok");
		assertThat(unlimited.exitValue()).isZero();
		assertThat(Files.readString(dir.resolve("classpath.args"))).startsWith("-cp ");
	}

	/** The child of the test above. */
	public static final class Probe {

		public static void main(String[] args) {
			System.out.println("probe " + String.join(" ", args));
		}

	}

}
