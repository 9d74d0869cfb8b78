package com.acme.finetune.inference;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A request of 32 twelve-megapixel photographs (about 1.1 GB once decoded whole) is
 * decoded for a 224 px model in a forked JVM with a 96 MB heap; decoding them whole, as
 * before, runs out of memory in the same JVM.
 */
class PredictionMemoryTests {

	private static final int IMAGES = 32;

	@Test
	void thirtyTwoLargeImagesFitASmallHeap(@TempDir Path dir) throws Exception {
		Path photo = dir.resolve("big.jpg");
		Files.write(photo, ImageDecoderTests.bytes(ImageDecoderTests.scene(4000, 3000, 1), "jpeg"));

		Run bounded = run(photo, "bounded");
		assertThat(bounded.exitCode()).as(bounded.output()).isZero();
		Matcher result = Pattern.compile("images=(\\d+) bytes=(\\d+)").matcher(bounded.output());
		assertThat(result.find()).as(bounded.output()).isTrue();
		assertThat(Integer.parseInt(result.group(1))).isEqualTo(IMAGES);
		// 800x600 each (subsampling 5 keeps the shorter side >= 2 x 256)
		assertThat(Long.parseLong(result.group(2))).isEqualTo(IMAGES * 800L * 600 * 3);

		Run full = run(photo, "full");
		assertThat(full.exitCode()).as("the control must not fit: %s", full.output()).isNotZero();
		assertThat(full.output()).contains("OutOfMemoryError");
	}

	private static Run run(Path photo, String mode) throws Exception {
		String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
		Process process = new ProcessBuilder(java, "-Xmx96m", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
				"-cp", System.getProperty("java.class.path"), PredictionMemoryCheck.class.getName(), photo.toString(),
				Integer.toString(IMAGES), "256", mode)
			.redirectErrorStream(true)
			.start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
		return new Run(process.exitValue(), output);
	}

	record Run(int exitCode, String output) {
	}

}
