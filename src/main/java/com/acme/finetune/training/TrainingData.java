package com.acme.finetune.training;

import java.nio.file.Path;
import java.util.List;

/**
 * The images of one dataset, already split. Labels are indexes into {@link #labels()}.
 *
 * @param key identifies the dataset's content (e.g. its id or digest); part of cache keys
 */
public record TrainingData(String key, List<String> labels, List<Sample> train, List<Sample> validation) {

	/** One image file and its class index. */
	public record Sample(Path image, int label) {
	}

}
