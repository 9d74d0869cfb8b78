package com.acme.finetune.report;

import java.util.UUID;

import com.acme.finetune.evaluation.EvaluationView;
import com.acme.finetune.evaluation.Evaluations;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;

import org.springframework.http.CacheControl;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

@RestController
class EvaluationReportController {

	private final Evaluations evaluations;

	EvaluationReportController(Evaluations evaluations) {
		this.evaluations = evaluations;
	}

	@Operation(summary = "The evaluation's report as a self-contained HTML page",
			description = "Metrics, per-class table, confusion matrix, reliability diagram and the most confident "
					+ "mistakes with thumbnails inlined as data URIs.",
			responses = {
					@ApiResponse(responseCode = "200", description = "The page",
							content = @Content(mediaType = "text/html", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such evaluation",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/api/v1/evaluations/{id}/report")
	ResponseEntity<String> page(@PathVariable UUID id) {
		EvaluationView evaluation = this.evaluations.get(id);
		String html = EvaluationReportPage.render(evaluation,
				(evaluation.result() != null) ? this.evaluations.thumbnails(id) : java.util.Map.of());
		return ResponseEntity.ok()
			.contentType(ReportController.HTML)
			.cacheControl(CacheControl.noCache())
			.header("Content-Security-Policy", ReportController.CONTENT_SECURITY_POLICY)
			.header("X-Content-Type-Options", "nosniff")
			.body(html);
	}

}
