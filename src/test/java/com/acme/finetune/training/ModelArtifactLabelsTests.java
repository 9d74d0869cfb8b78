package com.acme.finetune.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.artifact.ModelArtifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

/**
 * Labels come from {@code labels.json}, which no character can shift, and from
 * {@code synset.txt} only for artifacts written before it.
 */
class ModelArtifactLabelsTests {

	@Test
	void theJsonArrayIsTheAuthority(@TempDir Path dir) throws IOException {
		// a synset.txt that a line break in a label has shifted: the JSON says what is
		// meant
		Files.writeString(dir.resolve(ModelArtifact.LABELS_FILE), "[\"two\\nlines\",\"b\",\"c\"]");
		Files.writeString(dir.resolve(ModelArtifact.SYNSET_FILE), "two\nlines\nb\nc\n");
		assertThat(ModelArtifact.readLabels(dir)).containsExactly("two\nlines", "b", "c");
	}

	@Test
	void artifactsFromBeforeTheJsonFileReadTheirSynset(@TempDir Path dir) throws IOException {
		Files.writeString(dir.resolve(ModelArtifact.SYNSET_FILE), "a\nb\n\n");
		assertThat(ModelArtifact.readLabels(dir)).containsExactly("a", "b");
	}

	@Test
	void aDamagedJsonFileIsAnErrorNotAGuess(@TempDir Path dir) throws IOException {
		Files.writeString(dir.resolve(ModelArtifact.LABELS_FILE), "[\"a\", null]");
		Files.writeString(dir.resolve(ModelArtifact.SYNSET_FILE), "a\nb\n");
		assertThatIOException().isThrownBy(() -> ModelArtifact.readLabels(dir)).withMessageContaining("labels.json");
		Files.writeString(dir.resolve(ModelArtifact.LABELS_FILE), "{\"a\": 1}");
		assertThatIOException().isThrownBy(() -> ModelArtifact.readLabels(dir));
	}

}
