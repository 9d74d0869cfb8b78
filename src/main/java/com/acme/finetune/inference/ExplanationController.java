package com.acme.finetune.inference;

import java.util.List;
import java.util.UUID;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

@RestController
@RequestMapping("/api/v1/models")
@Tag(name = "Explanations", description = "Grad-CAM: where in an image the model found the evidence for a label")
class ExplanationController {

	static final String PROBLEM = "#/components/schemas/Problem";

	private final ModelExplanations explanations;

	ExplanationController(ModelExplanations explanations) {
		this.explanations = explanations;
	}

	@Operation(summary = "Explain a prediction with Grad-CAM",
			description = "One 'image' part (same formats and limits as predictions) and an optional 'label' "
					+ "(default: the model's top-1 for the image). Answers the heat map over the image as the network "
					+ "saw it (resized and centre-cropped) as a PNG, with the explained label and its probability in "
					+ "the Explanation-Label (percent-encoded) and Explanation-Probability headers; with "
					+ "'Accept: application/json', the label, its probability and the heat map at the last stage's "
					+ "resolution. The built-in ResNet-50 and TorchScript ResNets whose features are their layer4's "
					+ "pooled output can be explained; other backbones answer 422 not-explainable.")
	@ApiResponse(responseCode = "200", description = "The heat map",
			content = { @Content(mediaType = "image/png", schema = @Schema(type = "string", format = "binary")),
					@Content(mediaType = "application/json",
							schema = @Schema(implementation = ExplanationResponse.class)) })
	@ApiResponse(responseCode = "400",
			description = "No or several images, or a label the model does not know "
					+ "(knownLabels lists the model's labels)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "404", description = "No such model",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "413", description = "The image is over the size or pixel limits",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "415", description = "Not an image in a supported format",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "422",
			description = "A corrupt image, or a model whose backbone Grad-CAM cannot explain (type not-explainable)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@ApiResponse(responseCode = "503", description = "The model's queue is full (Retry-After)",
			content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
	@PostMapping(path = "/{id}/explanations", consumes = MediaType.MULTIPART_FORM_DATA_VALUE,
			produces = { MediaType.IMAGE_PNG_VALUE, MediaType.APPLICATION_JSON_VALUE })
	ResponseEntity<?> explain(@PathVariable UUID id,
			@RequestPart(name = "image", required = false) List<MultipartFile> images,
			@Parameter(description = "The label to explain; default the top-1") @RequestParam(name = "label",
					required = false) String label,
			@RequestHeader(name = HttpHeaders.ACCEPT, required = false) String accept) {
		return this.explanations.explain(id, images, label, accept);
	}

}
