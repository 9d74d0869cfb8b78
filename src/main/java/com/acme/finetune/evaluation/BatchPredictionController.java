package com.acme.finetune.evaluation;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.ProblemType;
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
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

@RestController
@RequestMapping("/api/v1")
class BatchPredictionController {

	static final MediaType JSON_LINES = MediaType.valueOf("application/jsonl;charset=UTF-8");

	static final MediaType CSV = MediaType.valueOf("text/csv;charset=UTF-8");

	private final BatchPredictions batches;

	private final BatchEventStream stream;

	BatchPredictionController(BatchPredictions batches, BatchEventStream stream) {
		this.batches = batches;
		this.stream = stream;
	}

	@Operation(summary = "Classify every image of an archive (zip or tar.gz, any folder layout)",
			description = "Multipart: file (the archive), optional topK (default 5). The archive passes the dataset "
					+ "intake's limits and refusals; files that are not valid images become {file, error} result lines. "
					+ "Runs on a worker; follow GET /batch-predictions/{id} or its events.",
			responses = { @ApiResponse(responseCode = "202", description = "Queued; Location names it"),
					@ApiResponse(responseCode = "400", description = "No file, bad topK, or unsafe archive entries",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such model",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "413", description = "Over the extraction limits",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "415", description = "Not a zip or tar.gz",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "422", description = "Corrupt or nested archive, or no files",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "507", description = "Not enough disk space",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/models/{id}/batch-predictions", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
	ResponseEntity<BatchPredictionView> fromArchive(@PathVariable UUID id,
			@RequestPart(name = "file", required = false) MultipartFile file,
			@RequestParam(name = "topK", required = false) String topK,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		return accepted(this.batches.fromArchive(id, file, topK, idempotencyKey));
	}

	@Operation(summary = "Classify every image of a dataset", description = "Body {datasetId, topK (default 5)}.",
			responses = { @ApiResponse(responseCode = "202", description = "Queued; Location names it"),
					@ApiResponse(responseCode = "400", description = "Invalid body (every violation listed)",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such model",
							content = @Content(mediaType = "application/problem+json")) })
	@PostMapping(path = "/models/{id}/batch-predictions", consumes = MediaType.APPLICATION_JSON_VALUE)
	ResponseEntity<BatchPredictionView> fromDataset(@PathVariable UUID id, @RequestBody JsonNode body,
			@RequestHeader(name = IdempotencyKeys.HEADER, required = false) String idempotencyKey) {
		return accepted(this.batches.fromDataset(id, body, idempotencyKey));
	}

	@Operation(summary = "A batch prediction: status and progress",
			responses = { @ApiResponse(responseCode = "200", description = "The batch prediction"),
					@ApiResponse(responseCode = "404", description = "No such batch prediction",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/batch-predictions/{id}")
	BatchPredictionView get(@PathVariable UUID id) {
		return this.batches.get(id);
	}

	@Operation(summary = "The results, streamed: one line per image",
			description = "format=jsonl (default): {file, top:[{label, probability}]} or {file, error} per line. "
					+ "format=csv: file, label_1, probability_1, …, error.",
			responses = {
					@ApiResponse(responseCode = "200", description = "The results",
							content = { @Content(mediaType = "application/jsonl"), @Content(mediaType = "text/csv") }),
					@ApiResponse(responseCode = "400", description = "Unknown format",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "404", description = "No such batch prediction",
							content = @Content(mediaType = "application/problem+json")),
					@ApiResponse(responseCode = "409", description = "It has not succeeded (yet)",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/batch-predictions/{id}/results")
	ResponseEntity<StreamingResponseBody> results(@PathVariable UUID id,
			@RequestParam(name = "format", defaultValue = "jsonl") String format) {
		if (!"jsonl".equals(format) && !"csv".equals(format)) {
			throw new ApiException(ProblemType.VALIDATION, "format must be jsonl or csv").with("errors",
					java.util.List.of(java.util.Map.of("field", "format", "message", "must be jsonl or csv")));
		}
		Path results = this.batches.results(id);
		int topK = this.batches.get(id).topK();
		if ("csv".equals(format)) {
			return ResponseEntity.ok()
				.contentType(CSV)
				.header("Content-Disposition", "attachment; filename=\"batch-" + id + ".csv\"")
				.body((out) -> this.batches.writeCsv(results, topK, out));
		}
		return ResponseEntity.ok().contentType(JSON_LINES).body((out) -> Files.copy(results, out));
	}

	@Operation(summary = "Server-Sent Events: status, progress (at most ~1/s), done; Last-Event-ID resumes")
	@GetMapping(path = "/batch-predictions/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
	SseEmitter events(@PathVariable UUID id,
			@RequestHeader(name = "Last-Event-ID", required = false) String lastEventId) {
		this.batches.get(id);
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

	private static ResponseEntity<BatchPredictionView> accepted(BatchPredictionView view) {
		return ResponseEntity.accepted().location(URI.create("/api/v1/batch-predictions/" + view.id())).body(view);
	}

}
