package com.acme.finetune.inference;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.stereotype.Component;

/**
 * The loaded models and the precision each serves in, with why, in
 * {@code /actuator/info}.
 */
@Component
class ServingInfoContributor implements InfoContributor {

	private final ModelRegistry registry;

	ServingInfoContributor(ModelRegistry registry) {
		this.registry = registry;
	}

	@Override
	public void contribute(Info.Builder builder) {
		List<Map<String, Object>> models = this.registry.loaded().stream().map((m) -> {
			Map<String, Object> model = new LinkedHashMap<>();
			model.put("id", m.id());
			model.put("precision", m.precision().precision());
			model.put("reason", m.precision().reason());
			return model;
		}).toList();
		Map<String, Object> serving = new LinkedHashMap<>();
		serving.put("loadedModels", models);
		builder.withDetail("serving", serving);
	}

}
