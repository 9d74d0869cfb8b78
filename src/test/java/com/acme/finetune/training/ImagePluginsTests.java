package com.acme.finetune.training;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The WebP reader must be found whichever thread decodes first, also where the plugins
 * are visible only to the application's class loader (the packaged service): training
 * decodes on a parallel stream, whose workers carry the system class loader.
 */
class ImagePluginsTests {

	@TempDir
	Path dir;

	@Test
	void webpDecodesOnAThreadThatCannotSeeThePlugins() throws Exception {
		Path image = this.dir.resolve("tiny.webp");
		try (InputStream in = getClass().getResourceAsStream("/fixtures/images/tiny.webp")) {
			Files.copy(in, image);
		}
		List<String> command = new ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		command.add("-cp");
		command.add(location(ImagePluginsProbe.class));
		command.add(ImagePluginsProbe.class.getName());
		command.add(image.toString());
		// the application: this project's classes and the WebP plugin with what it needs
		for (String name : List.of(Preprocessing.class.getName(),
				"com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi",
				"com.twelvemonkeys.imageio.ImageReaderBase", "com.twelvemonkeys.imageio.metadata.AbstractDirectory",
				"com.twelvemonkeys.lang.BeanUtil", "com.twelvemonkeys.io.AbstractCachedSeekableStream",
				"com.twelvemonkeys.image.AbstractImageSource")) {
			command.add(location(Class.forName(name)));
		}
		Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
		assertThat(output).contains("decoded 48x40");
		assertThat(process.exitValue()).as(output).isZero();
	}

	private static String location(Class<?> type) throws URISyntaxException, IOException {
		return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
	}

}
