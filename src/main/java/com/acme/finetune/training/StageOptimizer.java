package com.acme.finetune.training;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;

/**
 * SGD (momentum, weight decay), Adam and AdamW with what DJL's own optimizers lack: a
 * learning-rate multiplier per parameter (per-stage rates), optimizer state that can be
 * written to a checkpoint and read back, and a step count per parameter.
 *
 * <p>
 * The updates are DJL's native ones ({@code sgdUpdate}/{@code adamUpdate}, the same
 * libtorch kernels {@code Sgd}, {@code Adam} and {@code AdamW} call), so a run computes
 * what it computed with DJL's optimizers. DJL's Adam corrects its bias with the largest
 * update count of any parameter; here each parameter counts its own steps, as PyTorch
 * does, so a stage unfrozen in epoch 3 starts its moments (and their bias correction) at
 * step 1. State is created when a parameter is first updated, which is how newly unfrozen
 * stages get theirs.
 */
final class StageOptimizer extends Optimizer {

	private static final float BETA1 = 0.9f;

	private static final float BETA2 = 0.999f;

	private static final float EPSILON = 1e-8f;

	private final Hyperparameters.Optimizer kind;

	private final float momentum;

	private final Map<String, Float> multipliers = new HashMap<>();

	private final Map<String, Slot> slots = new HashMap<>();

	private volatile float learningRate;

	/** One parameter's state: update count and first/second moment (or momentum). */
	private static final class Slot {

		int steps;

		NDArray first;

		NDArray second;

	}

	StageOptimizer(Hyperparameters.Optimizer kind, double momentum, double weightDecay) {
		super(new Builder().optWeightDecays((float) weightDecay));
		this.kind = kind;
		this.momentum = (kind == Hyperparameters.Optimizer.SGD) ? (float) momentum : 0f;
	}

	/** The schedule's rate for the next step(s), before per-parameter multipliers. */
	void learningRate(double value) {
		this.learningRate = (float) value;
	}

	/** A parameter's multiplier of the learning rate (1 when never set). */
	synchronized void multiplier(String parameterId, double value) {
		this.multipliers.put(parameterId, (float) value);
	}

	@Override
	public synchronized void update(String parameterId, NDArray weight, NDArray grad) {
		float rate = this.learningRate * this.multipliers.getOrDefault(parameterId, 1f);
		Slot slot = this.slots.computeIfAbsent(parameterId, (k) -> new Slot());
		slot.steps++;
		NDList weights = new NDList(weight);
		if (this.kind == Hyperparameters.Optimizer.SGD) {
			NDList inputs;
			if (this.momentum != 0f) {
				if (slot.first == null) {
					slot.first = weight.zerosLike();
				}
				inputs = new NDList(weight, grad, slot.first);
			}
			else {
				inputs = new NDList(weight, grad);
			}
			weight.getNDArrayInternal()
				.sgdUpdate(inputs, weights, rate, getWeightDecay(), this.rescaleGrad, this.clipGrad, this.momentum,
						true);
			return;
		}
		if (slot.first == null) {
			slot.first = weight.zerosLike();
			slot.second = weight.zerosLike();
		}
		double coef1 = 1.0 - Math.pow(BETA1, slot.steps);
		double coef2 = 1.0 - Math.pow(BETA2, slot.steps);
		float biasCorrected = (float) (rate * Math.sqrt(coef2) / coef1);
		weight.getNDArrayInternal()
			.adamUpdate(new NDList(weight, grad, slot.first, slot.second), weights, rate, biasCorrected,
					getWeightDecay(), this.rescaleGrad, this.clipGrad, BETA1, BETA2, EPSILON, true,
					this.kind == Hyperparameters.Optimizer.ADAMW);
	}

	/** How many parameters have state (were updated at least once). */
	synchronized int stateCount() {
		return this.slots.size();
	}

	/**
	 * Writes the state of every parameter that has one, under the stable names that
	 * {@code names} gives their ids (parameter ids differ from process to process).
	 */
	synchronized void write(DataOutputStream out, Map<String, String> names) throws IOException {
		out.writeUTF(this.kind.name());
		out.writeInt(this.slots.size());
		for (Map.Entry<String, Slot> e : this.slots.entrySet()) {
			String name = names.get(e.getKey());
			if (name == null) {
				throw new IOException("Optimizer state of a parameter outside the network: " + e.getKey());
			}
			Slot slot = e.getValue();
			out.writeUTF(name);
			out.writeInt(slot.steps);
			writeArray(out, slot.first);
			writeArray(out, slot.second);
		}
	}

	/**
	 * Reads what {@link #write} wrote; {@code ids} maps the stable names back to this
	 * network's parameter ids, and the arrays are created on {@code manager}.
	 */
	synchronized void read(DataInputStream in, Map<String, String> ids, NDManager manager) throws IOException {
		String written = in.readUTF();
		if (!written.equals(this.kind.name())) {
			throw new IOException("The checkpoint's optimizer is " + written + ", this run's " + this.kind);
		}
		this.slots.clear();
		int count = in.readInt();
		for (int i = 0; i < count; i++) {
			String name = in.readUTF();
			String id = ids.get(name);
			if (id == null) {
				throw new IOException("The checkpoint's optimizer state names an unknown parameter " + name);
			}
			Slot slot = new Slot();
			slot.steps = in.readInt();
			slot.first = readArray(in, manager);
			slot.second = readArray(in, manager);
			this.slots.put(id, slot);
		}
	}

	private static void writeArray(DataOutputStream out, NDArray array) throws IOException {
		if (array == null) {
			out.writeInt(-1);
			return;
		}
		byte[] bytes = array.encode();
		out.writeInt(bytes.length);
		out.write(bytes);
	}

	private static NDArray readArray(DataInputStream in, NDManager manager) throws IOException {
		int length = in.readInt();
		if (length < 0) {
			return null;
		}
		byte[] bytes = new byte[length];
		in.readFully(bytes);
		return NDArray.decode(manager, bytes);
	}

	private static final class Builder extends OptimizerBuilder<Builder> {

		@Override
		protected Builder self() {
			return this;
		}

	}

}
