package com.acme.finetune.registry;

import java.util.List;
import java.util.Map;

/**
 * Registers a model as the next version of {@code name}: what a job spec's
 * {@code register} and {@code POST /registered-models/{name}/versions} carry.
 *
 * @param name the registered model (created with the first version)
 * @param aliases moved to the new version (optional)
 * @param description replaces the registered model's description when given
 * @param tags merged into the registered model's tags when given
 */
public record Registration(String name, List<String> aliases, String description, Map<String, String> tags) {

	public Registration {
		aliases = (aliases != null) ? List.copyOf(aliases) : List.of();
	}

}
