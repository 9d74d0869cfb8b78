package com.acme.finetune.training;

import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;

/**
 * torchvision's {@code resnet50} for tests, written from its definition
 * ({@code torchvision/models/resnet.py}) and sharing nothing with the service's network:
 * the state_dict names and shapes it has, and its forward pass over a state_dict in eval
 * mode (BatchNorm eps 1e-5, stride on the 3x3 convolution).
 */
final class TorchvisionResNet50 {

	private static final int[] BLOCKS = { 3, 4, 6, 3 };

	private TorchvisionResNet50() {
	}

	/** Every float tensor of the state_dict, in its order, with its shape. */
	static Map<String, long[]> floatShapes(int numClasses) {
		Map<String, long[]> shapes = new LinkedHashMap<>();
		shapes.put("conv1.weight", new long[] { 64, 3, 7, 7 });
		batchNorm(shapes, "bn1", 64);
		int inplanes = 64;
		for (int layer = 1; layer <= 4; layer++) {
			int planes = 64 << (layer - 1);
			for (int b = 0; b < BLOCKS[layer - 1]; b++) {
				String p = "layer" + layer + "." + b + ".";
				shapes.put(p + "conv1.weight", new long[] { planes, inplanes, 1, 1 });
				batchNorm(shapes, p + "bn1", planes);
				shapes.put(p + "conv2.weight", new long[] { planes, planes, 3, 3 });
				batchNorm(shapes, p + "bn2", planes);
				shapes.put(p + "conv3.weight", new long[] { planes * 4, planes, 1, 1 });
				batchNorm(shapes, p + "bn3", planes * 4);
				if (b == 0) {
					shapes.put(p + "downsample.0.weight", new long[] { planes * 4, inplanes, 1, 1 });
					batchNorm(shapes, p + "downsample.1", planes * 4);
				}
				inplanes = planes * 4;
			}
		}
		shapes.put("fc.weight", new long[] { numClasses, 2048 });
		shapes.put("fc.bias", new long[] { numClasses });
		return shapes;
	}

	private static void batchNorm(Map<String, long[]> shapes, String prefix, int channels) {
		for (String buffer : new String[] { "weight", "bias", "running_mean", "running_var" }) {
			shapes.put(prefix + "." + buffer, new long[] { channels });
		}
	}

	/** Logits of an NCHW batch. */
	static NDArray forward(Map<String, NDArray> state, NDArray x) {
		NDArray y = relu(bn(state, "bn1", conv(state.get("conv1.weight"), x, 2, 3)));
		y = Pool.maxPool2d(y, new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false);
		for (int layer = 1; layer <= 4; layer++) {
			for (int b = 0; b < BLOCKS[layer - 1]; b++) {
				int stride = (layer > 1 && b == 0) ? 2 : 1;
				String p = "layer" + layer + "." + b + ".";
				NDArray out = relu(bn(state, p + "bn1", conv(state.get(p + "conv1.weight"), y, 1, 0)));
				out = relu(bn(state, p + "bn2", conv(state.get(p + "conv2.weight"), out, stride, 1)));
				out = bn(state, p + "bn3", conv(state.get(p + "conv3.weight"), out, 1, 0));
				NDArray identity = (b == 0)
						? bn(state, p + "downsample.1", conv(state.get(p + "downsample.0.weight"), y, stride, 0)) : y;
				y = relu(out.add(identity));
			}
		}
		NDArray pooled = Pool.globalAvgPool2d(y);
		NDArray features = pooled.reshape(pooled.getShape().get(0), -1);
		return features.matMul(state.get("fc.weight").transpose()).add(state.get("fc.bias"));
	}

	private static NDArray conv(NDArray weight, NDArray x, int stride, int padding) {
		return Conv2d.conv2d(x, weight, null, new Shape(stride, stride), new Shape(padding, padding), new Shape(1, 1))
			.singletonOrThrow();
	}

	private static NDArray bn(Map<String, NDArray> state, String prefix, NDArray x) {
		long c = x.getShape().get(1);
		NDArray mean = state.get(prefix + ".running_mean").reshape(1, c, 1, 1);
		NDArray std = state.get(prefix + ".running_var").add(1e-5f).sqrt().reshape(1, c, 1, 1);
		return x.sub(mean)
			.div(std)
			.mul(state.get(prefix + ".weight").reshape(1, c, 1, 1))
			.add(state.get(prefix + ".bias").reshape(1, c, 1, 1));
	}

	private static NDArray relu(NDArray x) {
		return x.maximum(0f);
	}

}
