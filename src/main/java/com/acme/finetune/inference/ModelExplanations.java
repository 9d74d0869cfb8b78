package com.acme.finetune.inference;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
import org.springframework.web.multipart.MultipartFile;

/**
 * Grad-CAM explanations by model id, answered as a PNG overlay or as JSON: what
 * {@code POST /models/{id}/explanations} does, for the model registry's routes too.
 */
@Component
public class ModelExplanations {

	/** The explained label, percent-encoded (UTF-8), on PNG answers. */
	public static final String LABEL_HEADER = "Explanation-Label";

	/** The model's probability of the explained label, on PNG answers. */
	public static final String PROBABILITY_HEADER = "Explanation-Probability";

	private final ExplanationService explanations;

	ModelExplanations(ExplanationService explanations) {
		this.explanations = explanations;
	}

	/**
	 * Explains one image with the model with this id.
	 * @param label the label to explain, null for the top-1
	 * @param accept the request's {@code Accept} header: JSON when it prefers
	 * {@code application/json} to {@code image/png}, else the PNG
	 * @throws com.acme.finetune.web.ApiException as the explanations endpoint answers
	 */
	public ResponseEntity<?> explain(UUID modelId, List<MultipartFile> images, String label, String accept) {
		ExplanationService.Explained explained = this.explanations.explain(modelId, images, label);
		var explanation = explained.explanation();
		if (prefersJson(accept)) {
			return ResponseEntity.ok()
				.contentType(MediaType.APPLICATION_JSON)
				.body(new ExplanationResponse(modelId, explanation.label(), explanation.probability(),
						explanation.heatmap(), explained.latencyMs()));
		}
		return ResponseEntity.ok()
			.contentType(MediaType.IMAGE_PNG)
			.header(LABEL_HEADER, URLEncoder.encode(explanation.label(), StandardCharsets.UTF_8))
			.header(PROBABILITY_HEADER, String.format(Locale.ROOT, "%.6f", explanation.probability()))
			.body(HeatmapImage.png(explanation.input(), explanation.heatmap()));
	}

	/** The first of the two types in the client's order of preference; PNG by default. */
	static boolean prefersJson(String accept) {
		if (accept == null || accept.isBlank()) {
			return false;
		}
		List<MediaType> types;
		try {
			types = new ArrayList<>(MediaType.parseMediaTypes(accept));
		}
		catch (RuntimeException ex) {
			return false;
		}
		// stable: equal preferences keep the client's order
		types.sort(Comparator.comparingDouble(MediaType::getQualityValue).reversed());
		for (MediaType type : types) {
			if (type.getQualityValue() == 0) {
				continue;
			}
			boolean png = type.includes(MediaType.IMAGE_PNG);
			boolean json = type.includes(MediaType.APPLICATION_JSON);
			if (png && !json) {
				return false;
			}
			if (json && !png) {
				return true;
			}
			if (png) {
				return false;
			}
		}
		return false;
	}

}
