package com.acme.finetune.training.artifact;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

import com.acme.finetune.training.Preprocessing;

/** What an artifact's {@code serving.properties} and labels say. */
public record ArtifactMetadata(String network, int numClasses, int featureDim, boolean classifierRemoved,
		List<String> labels, Preprocessing preprocessing) {

	public static ArtifactMetadata read(Path dir) throws IOException {
		Path file = dir.resolve(ModelArtifact.SERVING_PROPERTIES);
		if (!Files.isRegularFile(file)) {
			throw new IOException(
					"Not a model artifact (no " + ModelArtifact.SERVING_PROPERTIES + "): " + dir.getFileName());
		}
		Properties p = new Properties();
		try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
			p.load(in);
		}
		List<String> labels = ModelArtifact.readLabels(dir);
		Preprocessing preprocessing = new Preprocessing(Integer.parseInt(p.getProperty("imageSize")),
				Integer.parseInt(p.getProperty("resizeShorter")), ModelArtifact.floats(p.getProperty("mean")),
				ModelArtifact.floats(p.getProperty("std")));
		return new ArtifactMetadata(p.getProperty("network").toLowerCase(Locale.ROOT),
				Integer.parseInt(p.getProperty("numClasses")), Integer.parseInt(p.getProperty("featureDim")),
				Boolean.parseBoolean(p.getProperty("classifierRemoved")), labels, preprocessing);
	}

}
