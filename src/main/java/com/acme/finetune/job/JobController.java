package com.acme.finetune.job;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ETags;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;

import org.springframework.http.CacheControl;
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
class JobController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "startedAt", "startedAt",
			"finishedAt", "finishedAt", "status", "status");

	static final Paging.Listing LISTING = Paging.Listing.byCreation("jobs", SORTABLE, "createdAt,desc");

	private final JobService jobs;

	private final JobValidator validator;

	private final JobEventStream stream;

	private final ETags etags;

	JobController(JobService jobs, JobValidator validator, JobEventStream stream, ETags etags) {
		this.etags = etags;
		this.jobs = jobs;
		this.validator = validator;
		this.stream = stream;
	}

	@io.swagger.v3.oas.annotations.parameters.RequestBody(required = true,
			content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
					schema = @Schema(implementation = JobSpecDocument.class),
					examples = @ExampleObject(name = "tiny", summary = "1 epoch from scratch at 32 px",
							value = JobSpecDocument.EXAMPLE)))
	@ApiResponse(responseCode = "202", description = "Queued; Location is the job")
	@PostMapping(path = "/jobs", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<JobView> submit(@RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		JobView job = this.jobs.submit(body, idempotencyKey);
		return ResponseEntity.accepted().location(URI.create("/api/v1/jobs/" + job.id())).body(job);
	}

	@io.swagger.v3.oas.annotations.parameters.RequestBody(required = true,
			content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
					schema = @Schema(implementation = JobSpecDocument.class),
					examples = @ExampleObject(name = "tiny", value = JobSpecDocument.EXAMPLE)))
	@PostMapping(path = "/jobs:validate", consumes = MediaType.APPLICATION_JSON_VALUE)
	JobValidator.Validation validate(@RequestBody JsonNode body) {
		return this.validator.validate(body);
	}

	@GetMapping("/jobs")
	ResponseEntity<PageResponse<JobView>> list(@RequestParam(required = false) JobStatus status,
			@RequestParam(required = false) UUID sweepId, @RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort,
			@RequestParam(required = false) String pageToken) {
		// the filter binds a page token to the list it came from
		String filter = ((status != null) ? "status=" + status : "") + ((sweepId != null) ? ";sweepId=" + sweepId : "");
		return this.etags.ok(this.jobs.list(status, sweepId, Paging.of(LISTING, filter, page, size, sort, pageToken)));
	}

	@GetMapping("/jobs/{id}")
	ResponseEntity<JobView> get(@PathVariable UUID id) {
		return this.etags.ok(this.jobs.get(id));
	}

	@GetMapping("/jobs/{id}/metrics")
	ResponseEntity<JobService.JobMetricsView> metrics(@PathVariable UUID id) {
		return this.etags.ok(this.jobs.metrics(id));
	}

	@Operation(
			description = "A text/event-stream of events named status, progress (at most about one a "
					+ "second), epoch and done, each with a JSON data line and an id. Reconnect with Last-Event-ID to "
					+ "miss nothing.",
			responses = @ApiResponse(responseCode = "200", description = "The event stream",
					content = @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(type = "string"),
							examples = @ExampleObject(
									value = "id: 7\nevent: epoch\ndata: {\"epoch\":1,\"valAccuracy\":0.9}\n\n"))))
	@GetMapping(path = "/jobs/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
	ResponseEntity<SseEmitter> events(@PathVariable UUID id,
			@RequestHeader(name = "Last-Event-ID", required = false) String lastEventId) {
		this.jobs.get(id);
		long after = 0;
		if (lastEventId != null && !lastEventId.isBlank()) {
			try {
				after = Long.parseLong(lastEventId.trim());
			}
			catch (NumberFormatException ex) {
				throw new ApiException(ProblemType.MALFORMED_REQUEST, "Last-Event-ID must be an event id");
			}
		}
		// a live stream: nothing to keep (Last-Event-ID resumes it instead)
		return ResponseEntity.ok().cacheControl(CacheControl.noStore()).body(this.stream.subscribe(id, after));
	}

	@PostMapping("/jobs/{id}:resume")
	ResponseEntity<JobView> resume(@PathVariable UUID id) {
		return ResponseEntity.accepted().body(this.jobs.resume(id));
	}

	@PostMapping("/jobs/{id}:cancel")
	ResponseEntity<JobView> cancel(@PathVariable UUID id) {
		return ResponseEntity.accepted().body(this.jobs.cancel(id));
	}

}
