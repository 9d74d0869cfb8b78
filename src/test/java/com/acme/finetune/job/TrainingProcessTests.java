package com.acme.finetune.job;

import java.io.File;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TrainingProcessTests {

	@Test
	void relativeClassPathEntriesBecomeAbsolute() {
		// java -jar target/app.jar reports a relative class path; the training process
		// starts in another directory
		String classPath = String.join(File.pathSeparator, "target/app.jar", "", "lib/*");
		assertThat(TrainingProcess.absolute(classPath).split(File.pathSeparator, -1))
			.containsExactly(new File("target/app.jar").getAbsolutePath(), "", new File("lib/*").getAbsolutePath());
	}

	@Test
	void trainingGetsOneMallocArenaUnlessTheEnvironmentChooses() {
		assertThat(TrainingProcess.mallocTunables(null))
			.isEqualTo("glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1");
		assertThat(TrainingProcess.mallocTunables("glibc.malloc.trim_threshold=1"))
			.isEqualTo("glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=1");
		assertThat(TrainingProcess.mallocTunables("glibc.malloc.arena_max=4")).isEqualTo("glibc.malloc.arena_max=4");
	}

}
