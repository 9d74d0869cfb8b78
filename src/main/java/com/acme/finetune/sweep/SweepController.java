package com.acme.finetune.sweep;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ApiException;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
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
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

@RestController
@RequestMapping("/api/v1")
class SweepController {

	/** Sortable fields and their columns. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "created_at", "finishedAt", "finished_at",
			"status", "status");

	private final SweepService sweeps;

	private final SweepEventStream stream;

	SweepController(SweepService sweeps, SweepEventStream stream) {
		this.sweeps = sweeps;
		this.stream = stream;
	}

	@Operation(summary = "Start a hyperparameter sweep",
			description = "Trials are ordinary jobs tagged with the sweep (GET /jobs?sweepId=). Search-space paths and values are checked against the job spec; an omitted searchSpace gets the documented default. With refit: true the best trial's configuration is trained once more for its best epoch count on train+validation (a job with trainOn: train+validation, refitJobId), and its model becomes the sweep's modelId; bestModelId stays the best trial's. Idempotency-Key accepted.",
			responses = { @ApiResponse(responseCode = "202", description = "The sweep, RUNNING; Location names it"),
					@ApiResponse(responseCode = "400", description = "Every violation of the request (errors[])",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "422", description = "The base model is not available",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/sweeps", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<SweepView> submit(@RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		SweepView sweep = this.sweeps.submit(body, idempotencyKey);
		return ResponseEntity.accepted().location(URI.create("/api/v1/sweeps/" + sweep.id())).body(sweep);
	}

	@Operation(summary = "What a sweep would run, without running it",
			description = "The resolved sweep, the trials (a grid's every combination, the first samples of random and tpe), the ASHA rungs, epochs with and without early termination and the estimated seconds on this node.",
			responses = { @ApiResponse(responseCode = "200", description = "The plan"),
					@ApiResponse(responseCode = "400", description = "Every violation of the request (errors[])",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/sweeps:validate", consumes = MediaType.APPLICATION_JSON_VALUE)
	SweepService.Validation validate(@RequestBody JsonNode body) {
		return this.sweeps.validate(body);
	}

	@Operation(summary = "List sweeps", description = "Paged; sort createdAt|finishedAt|status[,asc|desc].",
			responses = { @ApiResponse(responseCode = "200", description = "A page of sweeps"),
					@ApiResponse(responseCode = "400", description = "Bad paging or sort",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/sweeps")
	PageResponse<SweepView> list(@RequestParam(required = false) SweepStatus status,
			@RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "20") int size,
			@RequestParam(required = false) String sort) {
		return this.sweeps.list(status, Paging.of(page, size, sort, SORTABLE, "createdAt,desc"));
	}

	@Operation(summary = "A sweep: status, progress, leaderboard, best trial and model",
			description = "Leaderboard best objective first; trials stopped by early termination carry stoppedAtEpoch.",
			responses = { @ApiResponse(responseCode = "200", description = "The sweep"),
					@ApiResponse(responseCode = "404", description = "No such sweep",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/sweeps/{id}")
	SweepView get(@PathVariable UUID id) {
		return this.sweeps.get(id);
	}

	@Operation(summary = "The sweep's events (Server-Sent Events)",
			description = "status, trial, decision, budget, refit, done; reconnect with Last-Event-ID to resume.",
			responses = { @ApiResponse(responseCode = "200", description = "The event stream"),
					@ApiResponse(responseCode = "400", description = "Last-Event-ID is not an event id",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such sweep",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping(path = "/sweeps/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
	SseEmitter events(@PathVariable UUID id,
			@RequestHeader(name = "Last-Event-ID", required = false) String lastEventId) {
		this.sweeps.get(id);
		long after = 0;
		if (lastEventId != null && !lastEventId.isBlank()) {
			try {
				after = Long.parseLong(lastEventId.trim());
			}
			catch (NumberFormatException ex) {
				throw new ApiException(ProblemType.MALFORMED_REQUEST, "Last-Event-ID must be an event id");
			}
		}
		return this.stream.subscribe(id, after);
	}

	@Operation(summary = "Cancel a sweep and its queued and running trials",
			description = "Its best trial so far stays its best.",
			responses = { @ApiResponse(responseCode = "202", description = "The sweep, CANCELLED"),
					@ApiResponse(responseCode = "404", description = "No such sweep",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "409", description = "The sweep already ended",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping("/sweeps/{id}:cancel")
	ResponseEntity<SweepView> cancel(@PathVariable UUID id) {
		return ResponseEntity.accepted().body(this.sweeps.cancel(id));
	}

}
