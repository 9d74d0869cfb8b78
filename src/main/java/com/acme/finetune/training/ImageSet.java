package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import com.acme.finetune.training.Hyperparameters.Augmentation;
import com.acme.finetune.training.Preprocessing.RgbImage;
import com.acme.finetune.training.TrainingData.Sample;

/**
 * The images of one split, decoded and resized once per run and kept as bytes: decoding a
 * JPEG costs more than a small network's step, so paying it every epoch would dominate.
 * Without augmentation only the centre crop is kept; random crops need the resized image.
 * When the split would not fit the memory budget, images are decoded per batch instead.
 */
final class ImageSet {

	private final List<Sample> samples;

	private final Preprocessing preprocessing;

	private final Augmentation augmentation;

	private final RgbImage[] decoded;

	ImageSet(List<Sample> samples, Preprocessing preprocessing, Augmentation augmentation, long memoryBudget) {
		this.samples = List.copyOf(samples);
		this.preprocessing = preprocessing;
		this.augmentation = augmentation;
		long side = (augmentation == Augmentation.FLIP_CROP) ? preprocessing.resizeShorter()
				: preprocessing.imageSize();
		// the longer side of a resized image is unknown before decoding: assume 4:3
		long estimate = (long) samples.size() * side * side * 3 * ((augmentation == Augmentation.FLIP_CROP) ? 4 : 3)
				/ 3;
		if (estimate <= memoryBudget) {
			this.decoded = new RgbImage[samples.size()];
			IntStream.range(0, samples.size()).parallel().forEach((i) -> this.decoded[i] = load(i));
		}
		else {
			this.decoded = null;
		}
	}

	int size() {
		return this.samples.size();
	}

	int label(int index) {
		return this.samples.get(index).label();
	}

	List<Sample> samples() {
		return this.samples;
	}

	private RgbImage load(int index) {
		Sample sample = this.samples.get(index);
		try {
			BufferedImage image = Preprocessing.read(sample.image());
			RgbImage resized = this.preprocessing.resize(image);
			return (this.augmentation == Augmentation.FLIP_CROP) ? resized : this.preprocessing.centerCrop(resized);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot read training image " + sample.image().getFileName(), ex);
		}
	}

	/**
	 * Writes image {@code index} as a normalised CHW tensor at {@code offset};
	 * {@code random == null} = the evaluation transform.
	 */
	void fill(int index, Random random, float[] dst, int offset) {
		RgbImage image = (this.decoded != null) ? this.decoded[index] : load(index);
		boolean flip = false;
		if (this.augmentation == Augmentation.FLIP_CROP) {
			int s = this.preprocessing.imageSize();
			if (random != null) {
				image = this.preprocessing.crop(image, random.nextInt(image.width() - s + 1),
						random.nextInt(image.height() - s + 1));
			}
			else {
				image = this.preprocessing.centerCrop(image);
			}
		}
		if (random != null && this.augmentation != Augmentation.NONE) {
			flip = random.nextBoolean();
		}
		this.preprocessing.normalize(image, flip, dst, offset);
	}

}
