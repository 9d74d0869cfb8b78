package com.acme.finetune.inference;

import java.util.Map;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import com.acme.finetune.djl.Bf16Support;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.artifact.ServingPrecision;

/**
 * The precision a loaded model classifies in, online ({@link ModelRegistry}) and in bulk
 * ({@link BulkInference}: evaluations, batch predictions) alike: what its job asked for
 * ({@code precision}, default auto) unless this service runs fp32 only
 * ({@code app.djl.bf16}); bf16 only where this process passed the bf16 check and the
 * model's own validation images agree.
 */
@Component
class PrecisionChooser {

	private static final Logger log = LoggerFactory.getLogger(PrecisionChooser.class);

	private final ModelCatalog catalog;

	private final Bf16Support bf16;

	PrecisionChooser(ModelCatalog catalog, Bf16Support bf16) {
		this.catalog = catalog;
		this.bf16 = bf16;
	}

	/** Chooses, switches the artifact to it and logs why. */
	ServingPrecision.Decision choose(UUID id, ModelArtifact artifact) {
		// models registered before jobs had a spec, or before precision existed: auto
		Map<String, Object> spec = this.catalog.get(id).spec();
		Object asked = (spec != null) ? spec.get("precision") : null;
		String requested = this.bf16.effective((asked != null) ? asked.toString() : null);
		String check = null;
		if (!ServingPrecision.FP32.equals(requested)
				&& (ServingPrecision.BF16.equals(requested) || this.bf16.cpuNative())) {
			check = this.bf16.check();
		}
		ServingPrecision.Decision decision = artifact.choosePrecision(requested, check);
		log.info("Model {} classifies in {} (requested {}): {}", id, decision.precision(), requested,
				decision.reason());
		return decision;
	}

}
