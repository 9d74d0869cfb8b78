package com.acme.finetune.training.artifact;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.stream.IntStream;

import ai.djl.modality.Classifications;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;

import com.acme.finetune.training.Preprocessing;

/**
 * Exactly the training evaluation transform (same resize code), then softmax over the
 * labels.
 */
final class ArtifactTranslator implements Translator<BufferedImage, Classifications> {

	private final Preprocessing preprocessing;

	private final List<String> labels;

	ArtifactTranslator(Preprocessing preprocessing, List<String> labels) {
		this.preprocessing = preprocessing;
		this.labels = labels;
	}

	@Override
	public NDList processInput(TranslatorContext ctx, BufferedImage input) {
		int s = this.preprocessing.imageSize();
		float[] data = new float[3 * s * s];
		this.preprocessing.toTensor(input, data, 0);
		return new NDList(ctx.getNDManager().create(data, new Shape(3, s, s)));
	}

	/**
	 * The whole batch transformed straight into one array, images in parallel: the
	 * transform is single-threaded per image, and the forward pass waits for all of them.
	 */
	@Override
	public NDList batchProcessInput(TranslatorContext ctx, List<BufferedImage> inputs) {
		int s = this.preprocessing.imageSize();
		int size = 3 * s * s;
		float[] data = new float[inputs.size() * size];
		IntStream.range(0, inputs.size())
			.parallel()
			.forEach((i) -> this.preprocessing.toTensor(inputs.get(i), data, i * size));
		return new NDList(ctx.getNDManager().create(data, new Shape(inputs.size(), 3, s, s)));
	}

	@Override
	public Classifications processOutput(TranslatorContext ctx, NDList list) {
		NDArray probabilities = list.singletonOrThrow().softmax(0);
		return new Classifications(this.labels, probabilities);
	}

}
