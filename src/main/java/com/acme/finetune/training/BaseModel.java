package com.acme.finetune.training;

import java.nio.file.Path;

/**
 * What a fine-tuning run starts from.
 *
 * @param kind where the weights come from
 * @param id the API id ({@code resnet50-imagenet}, {@code resnet50-scratch}, an uploaded
 * backbone's id, or {@code model:<id>}); part of cache keys
 * @param location the TorchScript file or model directory on disk; {@code null} for
 * {@link Kind#SCRATCH}
 */
public record BaseModel(Kind kind, String id, Path location) {

	public enum Kind {

		/** torchvision ResNet-50 ImageNet weights (DJL model zoo), classifier removed. */
		IMAGENET,
		/** The same architecture, randomly initialised. */
		SCRATCH,
		/** An uploaded TorchScript module mapping images to a feature vector. */
		TORCHSCRIPT,
		/** An earlier fine-tuned model of this service (continued fine-tuning). */
		FINETUNED

	}

}
