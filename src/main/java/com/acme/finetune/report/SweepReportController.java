package com.acme.finetune.report;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.job.EpochView;
import com.acme.finetune.job.JobService;
import com.acme.finetune.sweep.SweepService;
import com.acme.finetune.sweep.SweepView;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;

import org.springframework.http.CacheControl;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/v1/sweeps/{id}/report}: the sweep as one self-contained HTML page. */
@RestController
class SweepReportController {

	private final SweepService sweeps;

	private final JobService jobs;

	SweepReportController(SweepService sweeps, JobService jobs) {
		this.sweeps = sweeps;
		this.jobs = jobs;
	}

	@Operation(summary = "The sweep's report as a self-contained HTML page",
			description = "Leaderboard, objective by each numeric parameter, every trial's validation curve "
					+ "(stopped trials end where they stopped) and the best trial's confusion matrix.",
			responses = {
					@ApiResponse(responseCode = "200", description = "The page",
							content = @Content(mediaType = "text/html", schema = @Schema(type = "string"))),
					@ApiResponse(responseCode = "404", description = "No such sweep",
							content = @Content(mediaType = "application/problem+json")) })
	@GetMapping("/api/v1/sweeps/{id}/report")
	ResponseEntity<String> page(@PathVariable UUID id) {
		SweepView sweep = this.sweeps.get(id);
		boolean loss = "valLoss".equals(sweep.spec().objective().epochMetric());
		Map<UUID, List<Double>> curves = new HashMap<>();
		for (SweepView.Trial trial : sweep.leaderboard()) {
			List<Double> values = new ArrayList<>();
			for (EpochView e : this.jobs.metrics(trial.jobId()).epochs()) {
				Double v = loss ? e.valLoss() : e.valAccuracy();
				values.add((v != null) ? v : Double.NaN);
			}
			curves.put(trial.jobId(), values);
		}
		Map<String, Object> confusion = null;
		if (sweep.bestTrial() != null) {
			Object metrics = this.jobs.metrics(sweep.bestTrial().jobId()).finalMetrics();
			if (metrics instanceof Map<?, ?> m && m.get("confusionMatrix") instanceof Map<?, ?> c) {
				@SuppressWarnings("unchecked")
				Map<String, Object> matrix = (Map<String, Object>) c;
				confusion = matrix;
			}
		}
		return ResponseEntity.ok()
			.contentType(ReportController.HTML)
			.cacheControl(CacheControl.noCache())
			.header("Content-Security-Policy", ReportController.CONTENT_SECURITY_POLICY)
			.header("X-Content-Type-Options", "nosniff")
			.body(SweepReportPage.render(sweep, curves, confusion));
	}

}
