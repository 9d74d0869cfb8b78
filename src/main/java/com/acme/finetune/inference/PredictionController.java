package com.acme.finetune.inference;

import java.util.List;
import java.util.UUID;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

@RestController
@RequestMapping("/api/v1/models")
class PredictionController {

	private final PredictionService predictions;

	PredictionController(PredictionService predictions) {
		this.predictions = predictions;
	}

	/**
	 * One or more {@code image} parts; {@code topK} defaults to 5, capped at the labels.
	 */
	@PostMapping(path = "/{id}/predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	PredictionResponse predict(@PathVariable UUID id,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@RequestParam(name = "topK", required = false) Integer topK) {
		return this.predictions.predict(id, images, topK);
	}

}
