package com.acme.finetune.inference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.UUID;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.inference.PredictionClient.Reply;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The memory bound of the registry: room for four models by count, but a budget that one
 * ResNet-50 (~95 MB of files plus ~95 MB packed for oneDNN on CPUs) fits and two do not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestPropertySource(properties = { "app.inference.max-loaded-models=4", "app.inference.memory-budget=300MB" })
class ModelMemoryBudgetTests extends AbstractIntegrationTests {

	@Autowired
	ModelCatalog catalog;

	@Autowired
	ModelRegistry registry;

	@Autowired
	ObjectMapper json;

	@LocalServerPort
	int port;

	Path work;

	Path artifact;

	PredictionClient predictions;

	final byte[] image = InferenceFixtures.png(InferenceFixtures.colour(1, 36, 36, new Random(3)));

	@BeforeAll
	void trainModel() throws IOException {
		this.work = Files.createTempDirectory("budget-tests-");
		this.artifact = InferenceFixtures.colourModel();
	}

	@AfterAll
	void cleanUp() throws IOException {
		ArtifactStore.deleteRecursively(this.work);
	}

	@Test
	void modelsBeyondTheBudgetAreEvictedLeastRecentlyUsedFirst() throws IOException {
		this.predictions = new PredictionClient(this.port, this.json);
		UUID first = InferenceFixtures.register(this.catalog, this.artifact, this.work, InferenceFixtures.COLOURS,
				"budget-1");
		UUID second = InferenceFixtures.register(this.catalog, this.artifact, this.work, InferenceFixtures.COLOURS,
				"budget-2");
		predict(first);
		assertThat(this.registry.loaded()).singleElement().satisfies((m) -> {
			assertThat(m.id()).isEqualTo(first);
			// files plus the packed copy: more than half the budget
			assertThat(m.bytes()).isGreaterThan(150L * 1024 * 1024).isLessThan(300L * 1024 * 1024);
		});
		predict(second);
		assertThat(this.registry.loaded()).extracting(ModelRegistry.LoadedModel::id).containsExactly(second);
		predict(first);
		assertThat(this.registry.loaded()).extracting(ModelRegistry.LoadedModel::id).containsExactly(first);
	}

	private void predict(UUID id) {
		Reply reply = this.predictions.predict(id, "x.png", this.image);
		assertThat(reply.status()).as("%s", reply.body()).isEqualTo(200);
	}

}
