package com.acme.finetune.evaluation;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import tools.jackson.databind.JsonNode;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1")
class EvaluationController {

	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "finishedAt", "finishedAt",
			"status", "status");

	private final Evaluations evaluations;

	EvaluationController(Evaluations evaluations) {
		this.evaluations = evaluations;
	}

	@Operation(summary = "Evaluate a model on a labelled dataset",
			description = "Body {datasetId, split: all|validation (default all)}. Runs on a worker through the job "
					+ "queue; poll GET /evaluations/{id}. Accuracy, top-5, per-class precision/recall/F1, confusion "
					+ "matrix, expected calibration error with reliability bins, and the most confident mistakes.",
			responses = { @ApiResponse(responseCode = "202", description = "Queued; Location names the evaluation"),
					@ApiResponse(responseCode = "400", description = "Invalid body (every violation listed)",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such model",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "422",
							description = "The dataset has labels the model does not know (unknownLabels)",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/models/{id}/evaluations", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<EvaluationView> create(@PathVariable UUID id, @RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		return accepted(this.evaluations.create(id, body, idempotencyKey));
	}

	@Operation(summary = "Evaluate what a registered model's alias points to",
			description = "The alias is resolved again when the evaluation starts on a worker; registeredModel.version "
					+ "says which version was scored.",
			responses = { @ApiResponse(responseCode = "202", description = "Queued"),
					@ApiResponse(responseCode = "400", description = "Invalid body or name",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such name or alias",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "422", description = "Labels the model does not know",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/registered-models/{name}/aliases/{alias}/evaluations",
			consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<EvaluationView> createForAlias(@PathVariable String name, @PathVariable String alias,
			@RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		return accepted(this.evaluations.createForAlias(name, alias, body, idempotencyKey));
	}

	@Operation(summary = "An evaluation with all its numbers",
			responses = { @ApiResponse(responseCode = "200", description = "The evaluation"),
					@ApiResponse(responseCode = "404", description = "No such evaluation",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/evaluations/{id}")
	EvaluationView get(@PathVariable UUID id) {
		return this.evaluations.get(id);
	}

	@Operation(summary = "A model's evaluations, with summary numbers to compare runs",
			responses = { @ApiResponse(responseCode = "200", description = "A page of evaluations"),
					@ApiResponse(responseCode = "400", description = "Invalid paging",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such model",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/models/{id}/evaluations")
	PageResponse<EvaluationView> list(@PathVariable UUID id, @RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort) {
		return this.evaluations.list(id, Paging.of(page, size, sort, SORTABLE, "createdAt,desc"));
	}

	private static ResponseEntity<EvaluationView> accepted(EvaluationView view) {
		return ResponseEntity.accepted().location(URI.create("/api/v1/evaluations/" + view.id())).body(view);
	}

}
