package com.acme.finetune.report;

import java.util.List;
import java.util.UUID;

import com.acme.finetune.job.EpochView;
import com.acme.finetune.job.JobService;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.job.JobView;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ETags;
import com.acme.finetune.web.ProblemType;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/v1/jobs/{id}/report} (HTML) and its charts as standalone SVG. The page
 * inlines the same SVGs, so a saved copy is one self-contained file (useful when API keys
 * are on and a browser cannot send the header: {@code curl -H ... > report.html}).
 */
@RestController
@RequestMapping("/api/v1/jobs/{id}/report")
class ReportController {

	static final MediaType SVG = MediaType.valueOf("image/svg+xml;charset=UTF-8");

	static final MediaType HTML = MediaType.valueOf("text/html;charset=UTF-8");

	/**
	 * No scripts, no remote anything: labels are escaped, and this makes a missed escape
	 * harmless too. Inline styles only, since the page carries its own stylesheet.
	 */
	static final String CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
			+ "base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

	private final JobService jobs;

	ReportController(JobService jobs) {
		this.jobs = jobs;
	}

	@Operation(summary = "The job's report as a self-contained HTML page",
			responses = {
					@ApiResponse(responseCode = "200", description = "The page",
							content = @Content(mediaType = "text/html", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such job",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping
	ResponseEntity<String> page(@PathVariable UUID id) {
		return respond(HTML, ReportPage.render(report(id)));
	}

	@Operation(summary = "Train and validation loss per epoch",
			responses = {
					@ApiResponse(responseCode = "200", description = "The chart",
							content = @Content(mediaType = "image/svg+xml", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such job",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/loss.svg")
	ResponseEntity<String> loss(@PathVariable UUID id) {
		return respond(SVG, ReportCharts.loss(report(id)));
	}

	@Operation(summary = "Train and validation accuracy per epoch",
			responses = {
					@ApiResponse(responseCode = "200", description = "The chart",
							content = @Content(mediaType = "image/svg+xml", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such job",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/accuracy.svg")
	ResponseEntity<String> accuracy(@PathVariable UUID id) {
		return respond(SVG, ReportCharts.accuracy(report(id)));
	}

	@Operation(summary = "Learning rate per epoch",
			responses = {
					@ApiResponse(responseCode = "200", description = "The chart",
							content = @Content(mediaType = "image/svg+xml", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such job",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/learning-rate.svg")
	ResponseEntity<String> learningRate(@PathVariable UUID id) {
		return respond(SVG, ReportCharts.learningRate(report(id)));
	}

	/** 404 until the job succeeded: the matrix is computed on the final evaluation. */
	@Operation(summary = "The final confusion matrix as a heat map",
			responses = {
					@ApiResponse(responseCode = "200", description = "The chart",
							content = @Content(mediaType = "image/svg+xml", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such job, or it has not succeeded yet",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/confusion-matrix.svg")
	ResponseEntity<String> confusionMatrix(@PathVariable UUID id) {
		JobReport report = report(id);
		JobReport.Evaluation evaluation = report.evaluation();
		if (evaluation == null || evaluation.labels().isEmpty()) {
			throw new ApiException(ProblemType.NOT_FOUND, "Job " + id + " has no confusion matrix yet (status "
					+ report.job().status() + "); it is computed when the job succeeds");
		}
		return respond(SVG, ReportCharts.confusionMatrix(evaluation));
	}

	private JobReport report(UUID id) {
		// the job first: a job that finishes in between still has consistent epochs
		JobView job = this.jobs.get(id);
		JobService.JobMetricsView metrics = this.jobs.metrics(id);
		List<EpochMetrics> epochs = metrics.epochs().stream().map(ReportController::metrics).toList();
		return JobReport.of(job, epochs, metrics.finalMetrics());
	}

	/** Charts skip missing values, which the API gives as null and the charts as NaN. */
	private static EpochMetrics metrics(EpochView e) {
		return new EpochMetrics(e.epoch(), orNaN(e.trainLoss()), orNaN(e.trainAccuracy()), orNaN(e.valLoss()),
				orNaN(e.valAccuracy()), orNaN(e.learningRate()), e.durationMs(), orNaN(e.imagesPerSecond()), e.phase(),
				e.frozenUpTo());
	}

	private static double orNaN(Double value) {
		return (value != null) ? value : Double.NaN;
	}

	private static ResponseEntity<String> respond(MediaType type, String body) {
		// no-cache, not no-store: revalidate, since a running job's report changes
		return ResponseEntity.ok()
			.contentType(type)
			.eTag(ETags.ofText(body))
			.cacheControl(ETags.REVALIDATE)
			.header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
			.header("X-Content-Type-Options", "nosniff")
			.body(body);
	}

}
