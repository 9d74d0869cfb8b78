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

}
