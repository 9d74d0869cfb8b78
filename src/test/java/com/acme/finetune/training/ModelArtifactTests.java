package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Stream;
import java.util.Map;
import java.util.Properties;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.acme.finetune.training.Hyperparameters.Optimizer;
import com.acme.finetune.training.TrainingData.Sample;
import com.acme.finetune.training.TrainingRequest.BatchNormMode;
import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** A saved model must reload and predict exactly as at the end of training. */
class ModelArtifactTests {

	@TempDir
	static Path dir;

	static TrainingData data;

	static TrainingResult result;

	@BeforeAll
	static void train() throws IOException {
		data = TrainingFixtures.colours(dir.resolve("data"), 6, 3, 32, 4);
		// layer3 frozen, BatchNorm trained: the artifact must carry layer4's new
		// statistics
		Hyperparameters hp = TrainingFixtures.hyperparameters(2, 6, 0.001, Optimizer.ADAM);
		result = new FineTuner().train(TrainingFixtures.request(TrainingFixtures.SCRATCH, Stage.LAYER3,
				BatchNormMode.TRAIN, hp, dir.resolve("model"), null), data, TrainingListener.NONE);
	}

	@Test
	void layoutIsDocumented() {
		Path model = result.modelDir();
		assertThat(model.resolve("model.params")).isRegularFile();
		assertThat(model.resolve("labels.json")).hasContent("[\"red\",\"green\",\"blue\"]");
		assertThat(model.resolve("synset.txt")).hasContent("red\ngreen\nblue");
		assertThat(model.resolve("serving.properties")).content()
			.contains("imageSize=32", "resizeShorter=37", "network=resnet50", "numClasses=3");
		assertThat(model.resolve("finetune-blocks.jar")).isRegularFile();
	}

	@Test
	void reloadedModelPredictsLikeTheTrainingRunAndLikeItself() throws Exception {
		List<List<ModelArtifact.Prediction>> first = predictAll(result.modelDir());
		List<List<ModelArtifact.Prediction>> second = predictAll(result.modelDir());
		assertThat(second).isEqualTo(first);
		// the validation confusion matrix of the run, recomputed from the reloaded model
		long[][] confusion = new long[3][3];
		for (int i = 0; i < data.validation().size(); i++) {
			int predicted = data.labels().indexOf(first.get(i).get(0).label());
			confusion[data.validation().get(i).label()][predicted]++;
		}
		assertThat(confusion).isDeepEqualTo(result.confusionMatrix());
		assertThat(first.get(0)).hasSize(2);
		double sum = first.get(0).stream().mapToDouble(ModelArtifact.Prediction::probability).sum();
		assertThat(sum).isLessThanOrEqualTo(1.0 + 1e-6);
	}

	private static List<List<ModelArtifact.Prediction>> predictAll(Path model) throws Exception {
		try (ModelArtifact artifact = ModelArtifact.load(model, "cpu")) {
			assertThat(artifact.labels()).containsExactly("red", "green", "blue");
			assertThat(((ResNet50Block) artifact.model().getBlock()).onOneDnnLayout()).isTrue();
			// the memory budget counts the packed copy of the convolutions too
			assertThat(artifact.weightBytes()).isGreaterThan(Files.size(model.resolve("model.params")) * 19 / 10);
			List<BufferedImage> images = new ArrayList<>();
			for (Sample s : data.validation()) {
				images.add(Preprocessing.read(s.image()));
			}
			List<List<ModelArtifact.Prediction>> batch = artifact.predictBatch(images, 2);
			// one image at a time gives the same answer as the batch
			assertThat(artifact.predict(data.validation().get(0).image(), 2).get(0).probability())
				.isCloseTo(batch.get(0).get(0).probability(), within(1e-5));
			return batch;
		}
	}

	@Test
	void plainDjlLoadsTheDirectoryWithNothingButItsPath() throws Exception {
		Criteria<Image, Classifications> criteria = Criteria.builder()
			.setTypes(Image.class, Classifications.class)
			.optModelPath(result.modelDir())
			.build();
		List<List<ModelArtifact.Prediction>> ours = predictAll(result.modelDir());
		try (ZooModel<Image, Classifications> model = criteria.loadModel();
				Predictor<Image, Classifications> predictor = model.newPredictor()) {
			int agree = 0;
			for (int i = 0; i < data.validation().size(); i++) {
				Image image = ImageFactory.getInstance().fromFile(data.validation().get(i).image());
				Classifications c = predictor.predict(image);
				assertThat(c.getClassNames()).containsExactly("red", "green", "blue");
				agree += c.best().getClassName().equals(ours.get(i).get(0).label()) ? 1 : 0;
			}
			// DJL's own resize differs in the last bits; the decisions agree
			assertThat(agree).isGreaterThanOrEqualTo(data.validation().size() - 1);
		}
	}

	@Test
	void blocksJarIsSelfContained() throws Exception {
		assertThat(forwardWithPlainDjl(result.modelDir())).isEqualTo(new Shape(2, 3));
	}

	/**
	 * Builds the saved network with this project's classes hidden: only DJL and the
	 * artifact's jar remain, as for a plain DJL user. Returns the output shape for a
	 * batch of two 32-px images.
	 */
	static Shape forwardWithPlainDjl(Path model) throws Exception {
		ClassLoader djlOnly = new ClassLoader(ModelArtifactTests.class.getClassLoader()) {
			@Override
			protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
				if (name.startsWith("com.acme.")) {
					throw new ClassNotFoundException(name);
				}
				return super.loadClass(name, resolve);
			}

			@Override
			public URL getResource(String name) {
				return name.startsWith("com/acme/") ? null : super.getResource(name);
			}

			@Override
			public Enumeration<URL> getResources(String name) throws IOException {
				return name.startsWith("com/acme/") ? Collections.emptyEnumeration() : super.getResources(name);
			}
		};
		Properties properties = new Properties();
		try (Reader in = Files.newBufferedReader(model.resolve("serving.properties"))) {
			properties.load(in);
		}
		Map<String, Object> arguments = new HashMap<>();
		properties.forEach((k, v) -> arguments.put((String) k, v));
		try (URLClassLoader loader = new URLClassLoader(
				new URL[] { model.resolve("finetune-blocks.jar").toUri().toURL() }, djlOnly);
				Model djl = Model.newInstance("plain", Device.cpu(), "PyTorch")) {
			Class<?> type = loader.loadClass(properties.getProperty("blockFactory"));
			assertThat(type.getClassLoader()).isSameAs(loader);
			BlockFactory factory = (BlockFactory) type.getConstructor().newInstance();
			Block block = factory.newBlock(djl, model, arguments);
			if (block.getClass().getSimpleName().equals("ResNet50Block")) {
				// the TorchScript module for oneDNN's layout comes from the jar as well
				Method blocked = block.getClass().getDeclaredMethod("onOneDnnLayout");
				blocked.setAccessible(true);
				assertThat(blocked.invoke(block)).isEqualTo(true);
			}
			NDArray x = djl.getNDManager().randomUniform(0, 1, new Shape(2, 3, 32, 32));
			return block.forward(new ParameterStore(djl.getNDManager(), false), new NDList(x), false)
				.singletonOrThrow()
				.getShape();
		}
	}

	/**
	 * Artifacts saved before the network classes moved to {@code training.nn} and
	 * {@code training.artifact} name the block factory by its old class name in
	 * {@code serving.properties}; the service loads them with its own factory, never by
	 * that name.
	 */
	@Test
	void artifactNamingTheBlockFactoryByItsOldClassNameStillLoads() throws Exception {
		Path old = dir.resolve("written-before-the-split");
		Files.createDirectories(old);
		try (Stream<Path> files = Files.list(result.modelDir())) {
			for (Path file : files.toList()) {
				Files.copy(file, old.resolve(file.getFileName()));
			}
		}
		Path properties = old.resolve(ModelArtifact.SERVING_PROPERTIES);
		String text = Files.readString(properties);
		String current = "blockFactory=" + ArtifactBlockFactory.class.getName();
		assertThat(text).contains(current);
		Files.writeString(properties,
				text.replace(current, "blockFactory=com.acme.finetune.training.ArtifactBlockFactory"));
		assertThat(predictAll(old)).isEqualTo(predictAll(result.modelDir()));
		assertThat(new FineTuner()
			.countParameters(new BaseModel(BaseModel.Kind.FINETUNED, "model:old", old), Stage.LAYER3, 2)
			.total()).isEqualTo(23_508_032L + 2049 * 2);
	}

	@Test
	void fineTunedModelIsABaseForContinuedTraining() throws IOException {
		BaseModel base = new BaseModel(BaseModel.Kind.FINETUNED, "model:1", result.modelDir());
		FineTuner fineTuner = new FineTuner();
		ParameterCounts counts = fineTuner.countParameters(base, Stage.LAYER3, 2);
		assertThat(counts.total()).isEqualTo(23_508_032L + 2049 * 2);
		TrainingData twoClasses = new TrainingData("two", List.of("red", "green"),
				data.train().stream().filter((s) -> s.label() < 2).toList(),
				data.validation().stream().filter((s) -> s.label() < 2).toList());
		TrainingResult continued = fineTuner.train(
				TrainingFixtures.request(base, Stage.LAYER4, BatchNormMode.FROZEN,
						TrainingFixtures.hyperparameters(1, 6, 0.01, Optimizer.SGD), dir.resolve("continued"), null),
				twoClasses, TrainingListener.NONE);
		assertThat(continued.parameters().trainable()).isEqualTo(2049 * 2);
		assertThat(Files.readAllLines(continued.modelDir().resolve("synset.txt"))).containsExactly("red", "green");
	}

}
