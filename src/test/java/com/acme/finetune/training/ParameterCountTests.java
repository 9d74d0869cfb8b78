package com.acme.finetune.training;

import java.util.Map;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import com.acme.finetune.training.nn.ResNet50Block;

import static org.assertj.core.api.Assertions.assertThat;

/** Parameter counts must be torchvision's, for the API and for what really trains. */
class ParameterCountTests {

	/**
	 * torchvision 0.14 ResNet-50 with {@code fc = nn.Linear(2048, 3)}: trainable
	 * learnable parameters after {@code requires_grad=False} on conv1/bn1 (stem) and
	 * layer1..N, computed once with Debian's python3-torchvision: <pre>
	 * /usr/bin/python3 -c "
	 * import torchvision, torch.nn as nn
	 * m = torchvision.models.resnet50(); m.fc = nn.Linear(2048, 3)
	 * stages = [['conv1', 'bn1'], ['layer1'], ['layer2'], ['layer3'], ['layer4']]
	 * for k in range(6):
	 *     frozen = [p for s in stages[:k] for n in s for p in getattr(m, n).parameters()]
	 *     ids = {id(p) for p in frozen}
	 *     print(k, sum(p.numel() for p in m.parameters() if id(p) not in ids))"
	 * </pre>
	 */
	private static final Map<Stage, Long> TORCHVISION_TRAINABLE_3_CLASSES = Map.of(Stage.NONE, 23_514_179L, Stage.STEM,
			23_504_643L, Stage.LAYER1, 23_288_835L, Stage.LAYER2, 22_069_251L, Stage.LAYER3, 14_970_883L, Stage.LAYER4,
			6_147L);

	private static final long TORCHVISION_TOTAL_3_CLASSES = 23_514_179L;

	private final FineTuner fineTuner = new FineTuner();

	@Test
	void countParametersMatchesTorchvisionForEveryFreezeBound() {
		for (Stage upTo : Stage.values()) {
			ParameterCounts counts = this.fineTuner.countParameters(TrainingFixtures.SCRATCH, upTo, 3);
			assertThat(counts.total()).isEqualTo(TORCHVISION_TOTAL_3_CLASSES);
			assertThat(counts.trainable()).as(upTo.id()).isEqualTo(TORCHVISION_TRAINABLE_3_CLASSES.get(upTo));
			assertThat(counts.byStage()).containsOnlyKeys("stem", "layer1", "layer2", "layer3", "layer4", "head");
		}
		// the formula: 23,508,032 + 2049·n
		assertThat(this.fineTuner.countParameters(TrainingFixtures.SCRATCH, Stage.NONE, 1000).total())
			.isEqualTo(25_557_032L);
	}

	@Test
	void builtNetworkTrainsExactlyTorchvisionsParameters() {
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
			ResNet50Block network = ResNet50Block.create(3);
			network.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 32, 32));
			for (Stage upTo : Stage.values()) {
				network.configure(upTo, true);
				ParameterCounts counts = FineTuner.countActual(network);
				assertThat(counts.total()).isEqualTo(TORCHVISION_TOTAL_3_CLASSES);
				assertThat(counts.trainable()).as(upTo.id()).isEqualTo(TORCHVISION_TRAINABLE_3_CLASSES.get(upTo));
				assertThat(counts).isEqualTo(FineTuner.counts(FineTuner.resnet50TotalsWithHead(3), upTo));
			}
		}
	}

}
