package com.acme.finetune.model;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What the model registry knows about models, asked by the catalog without this package
 * depending on it: which registered versions a model is, and whether an alias points to
 * it (then it cannot be deleted).
 */
public interface ModelRegistrations {

	/** The registered versions of each of these models (absent: none). */
	Map<UUID, List<ModelView.Registration>> versionsOf(Collection<UUID> modelIds);

	/**
	 * Why the model must not be deleted (aliases point to it, e.g.
	 * {@code defects@production}), or empty.
	 */
	Optional<String> deletionBlocker(UUID modelId);

}
