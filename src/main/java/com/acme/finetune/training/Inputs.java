package com.acme.finetune.training;

import java.util.Random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** A split as batches of network inputs: images or cached features. */
interface Inputs {

	int size();

	int label(int index);

	/** {@code random == null}: no augmentation. */
	NDArray batch(NDManager manager, int[] indexes, Random random);

	/** Images, decoded once per run ({@link ImageSet}). */
	record Images(ImageSet images, int imageSize) implements Inputs {

		@Override
		public int size() {
			return this.images.size();
		}

		@Override
		public int label(int index) {
			return this.images.label(index);
		}

		@Override
		public NDArray batch(NDManager manager, int[] indexes, Random random) {
			int per = 3 * this.imageSize * this.imageSize;
			float[] data = new float[indexes.length * per];
			for (int i = 0; i < indexes.length; i++) {
				this.images.fill(indexes[i], random, data, i * per);
			}
			return manager.create(data, new Shape(indexes.length, 3, this.imageSize, this.imageSize));
		}

	}

	/** Backbone features from the embedding cache. */
	record Features(float[] features, int dim, int[] labels) implements Inputs {

		@Override
		public int size() {
			return this.labels.length;
		}

		@Override
		public int label(int index) {
			return this.labels[index];
		}

		@Override
		public NDArray batch(NDManager manager, int[] indexes, Random random) {
			float[] data = new float[indexes.length * this.dim];
			for (int i = 0; i < indexes.length; i++) {
				System.arraycopy(this.features, indexes[i] * this.dim, data, i * this.dim, this.dim);
			}
			return manager.create(data, new Shape(indexes.length, this.dim));
		}

	}

}
