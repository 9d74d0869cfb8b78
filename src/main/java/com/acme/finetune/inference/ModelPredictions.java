package com.acme.finetune.inference;

import java.util.List;
import java.util.UUID;

import org.springframework.stereotype.Component;
import org.springframework.web.multipart.MultipartFile;

/**
 * Predictions by model id for capabilities that route requests to models (the model
 * registry resolves a name and alias to a model first). Exactly what {@code POST
 * /models/{id}/predictions} does: same checks, queue, batching and errors.
 */
@Component
public class ModelPredictions {

	private final PredictionService predictions;

	ModelPredictions(PredictionService predictions) {
		this.predictions = predictions;
	}

	/**
	 * Top-k labels for each image, from the model with this id.
	 * @throws com.acme.finetune.web.ApiException as the predictions endpoint answers
	 */
	public PredictionResponse predict(UUID modelId, List<MultipartFile> images, Integer topK) {
		return this.predictions.predict(modelId, images, topK);
	}

}
