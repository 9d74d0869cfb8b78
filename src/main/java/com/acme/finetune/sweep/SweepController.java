package com.acme.finetune.sweep;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
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
class SweepController {

	/** Sortable fields and their columns. */
	private static final Map<String, String> SORTABLE = Map.of("createdAt", "created_at", "finishedAt", "finished_at",
			"status", "status");

	private final SweepService sweeps;

	SweepController(SweepService sweeps) {
		this.sweeps = sweeps;
	}

	@PostMapping(path = "/sweeps", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<SweepView> submit(@RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		SweepView sweep = this.sweeps.submit(body, idempotencyKey);
		return ResponseEntity.accepted().location(URI.create("/api/v1/sweeps/" + sweep.id())).body(sweep);
	}

	@GetMapping("/sweeps")
	PageResponse<SweepView> list(@RequestParam(required = false) SweepStatus status,
			@RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "20") int size,
			@RequestParam(required = false) String sort) {
		return this.sweeps.list(status, Paging.of(page, size, sort, SORTABLE, "createdAt,desc"));
	}

	@GetMapping("/sweeps/{id}")
	SweepView get(@PathVariable UUID id) {
		return this.sweeps.get(id);
	}

	@PostMapping("/sweeps/{id}:cancel")
	ResponseEntity<SweepView> cancel(@PathVariable UUID id) {
		return ResponseEntity.accepted().body(this.sweeps.cancel(id));
	}

}
