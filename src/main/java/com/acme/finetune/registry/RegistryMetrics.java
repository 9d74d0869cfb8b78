package com.acme.finetune.registry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.stereotype.Component;

/**
 * Prediction requests answered through a registered name, by name, alias (empty for
 * requests by version number) and the version that answered, so a dashboard shows traffic
 * moving when an alias moves. Only resolved names are counted: unknown names cannot grow
 * the series.
 */
@Component
class RegistryMetrics {

	private final MeterRegistry registry;

	RegistryMetrics(MeterRegistry registry) {
		this.registry = registry;
	}

	void prediction(String name, String alias, int version) {
		Counter.builder("finetune.registry.predictions")
			.description("Prediction requests answered through a registered model name")
			.tag("name", name)
			.tag("alias", (alias != null) ? alias : "")
			.tag("version", Integer.toString(version))
			.register(this.registry)
			.increment();
	}

}
