package com.acme.finetune.training;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

import com.acme.finetune.training.nn.BatchNorm2d;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

class BatchNorm2dTests {

	private static final Shape INPUT = new Shape(3, 5, 4, 6);

	/**
	 * Same numbers as DJL's BatchNorm with torchvision's settings: training output, input
	 * and parameter gradients, running statistics after a step (momentum 0.1), then
	 * inference output.
	 */
	@Test
	void computesWhatDjlBatchNormComputes() throws Exception {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			manager.getEngine().setRandomSeed(11);
			Block djl = BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build();
			Block ours = new BatchNorm2d();
			djl.initialize(manager, DataType.FLOAT32, INPUT);
			ours.initialize(manager, DataType.FLOAT32, INPUT);
			for (String name : new String[] { "gamma", "beta", "runningMean", "runningVar" }) {
				NDArray value = manager.randomUniform(0.5f, 1.5f, new Shape(5));
				djl.getParameters().get(name).getArray().set(value.toFloatArray());
				ours.getParameters().get(name).getArray().set(value.toFloatArray());
			}
			NDArray x = manager.randomNormal(2f, 3f, INPUT, DataType.FLOAT32);
			NDArray weights = manager.randomNormal(INPUT);

			float[][] expected = step(manager, djl, x, weights);
			float[][] actual = step(manager, ours, x, weights);
			for (int i = 0; i < expected.length; i++) {
				assertThat(actual[i]).containsExactly(expected[i], offset(1e-5f));
			}
		}
	}

	/** Saved bytes are DJL BatchNorm's, so models saved with either load with either. */
	@Test
	void savesAndLoadsDjlBatchNormsFormat() throws Exception {
		try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
			Block djl = BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build();
			Block ours = new BatchNorm2d();
			djl.initialize(manager, DataType.FLOAT32, INPUT);
			ours.initialize(manager, DataType.FLOAT32, INPUT);
			djl.getParameters().get("runningMean").getArray().set(new float[] { 1, 2, 3, 4, 5 });
			ours.getParameters().get("runningMean").getArray().set(new float[] { 1, 2, 3, 4, 5 });
			byte[] djlBytes = saved(djl);
			assertThat(saved(ours)).isEqualTo(djlBytes);

			Block reloaded = new BatchNorm2d();
			reloaded.loadParameters(manager, new DataInputStream(new ByteArrayInputStream(djlBytes)));
			assertThat(reloaded.getParameters().get("runningMean").getArray().toFloatArray()).containsExactly(1, 2, 3,
					4, 5);
		}
	}

	private static float[][] step(NDManager manager, Block block, NDArray x, NDArray weights) {
		NDArray input = x.duplicate();
		input.setRequiresGradient(true);
		ParameterStore store = new ParameterStore(manager, false);
		NDArray y;
		try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
			y = block.forward(store, new NDList(input), true).singletonOrThrow();
			collector.backward(y.mul(weights).sum());
		}
		float[] gammaGrad = block.getParameters().get("gamma").getArray().getGradient().toFloatArray();
		float[] betaGrad = block.getParameters().get("beta").getArray().getGradient().toFloatArray();
		NDArray inference = block.forward(store, new NDList(x), false).singletonOrThrow();
		return new float[][] { y.toFloatArray(), input.getGradient().toFloatArray(), gammaGrad, betaGrad,
				block.getParameters().get("runningMean").getArray().toFloatArray(),
				block.getParameters().get("runningVar").getArray().toFloatArray(), inference.toFloatArray() };
	}

	private static byte[] saved(Block block) throws Exception {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (DataOutputStream out = new DataOutputStream(bytes)) {
			block.saveParameters(out);
		}
		return bytes.toByteArray();
	}

}
