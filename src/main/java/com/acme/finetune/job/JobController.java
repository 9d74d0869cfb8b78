package com.acme.finetune.job;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.ApiException;
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
class JobController {

	/** Sortable fields and their entity properties. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "createdAt", "startedAt", "startedAt",
			"finishedAt", "finishedAt", "status", "status");

	private final JobService jobs;

	private final JobValidator validator;

	private final JobEventStream stream;

	JobController(JobService jobs, JobValidator validator, JobEventStream stream) {
		this.jobs = jobs;
		this.validator = validator;
		this.stream = stream;
	}

	@PostMapping(path = "/jobs", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<JobView> submit(@RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		JobView job = this.jobs.submit(body, idempotencyKey);
		return ResponseEntity.accepted().location(URI.create("/api/v1/jobs/" + job.id())).body(job);
	}

	@PostMapping(path = "/jobs:validate", consumes = MediaType.APPLICATION_JSON_VALUE)
	JobValidator.Validation validate(@RequestBody JsonNode body) {
		return this.validator.validate(body);
	}

	@GetMapping("/jobs")
	PageResponse<JobView> list(@RequestParam(required = false) JobStatus status,
			@RequestParam(required = false) UUID sweepId, @RequestParam(defaultValue = "0") int page,
			@RequestParam(defaultValue = "20") int size, @RequestParam(required = false) String sort) {
		return this.jobs.list(status, sweepId, Paging.of(page, size, sort, SORTABLE, "createdAt,desc").pageable());
	}

	@GetMapping("/jobs/{id}")
	JobView get(@PathVariable UUID id) {
		return this.jobs.get(id);
	}

	@GetMapping("/jobs/{id}/metrics")
	JobService.JobMetricsView metrics(@PathVariable UUID id) {
		return this.jobs.metrics(id);
	}

	@GetMapping(path = "/jobs/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
	SseEmitter events(@PathVariable UUID id,
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
		return this.stream.subscribe(id, after);
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
