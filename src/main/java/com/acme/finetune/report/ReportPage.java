package com.acme.finetune.report;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.acme.finetune.job.JobSpec;
import com.acme.finetune.job.JobStatus;
import com.acme.finetune.job.JobView;
import com.acme.finetune.training.EpochMetrics;

/**
 * The report as one self-contained HTML page: its own stylesheet, the charts inlined as
 * SVG, no scripts. While the job is not finished the page refreshes itself every few
 * seconds (a meta refresh, which needs no script either).
 */
final class ReportPage {

	static final int REFRESH_SECONDS = 5;

	private ReportPage() {
	}

	static String render(JobReport report) {
		JobView job = report.job();
		JobSpec spec = job.spec();
		StringBuilder html = new StringBuilder(32_768);
		html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
			.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
		if (!job.status().isTerminal()) {
			html.append("<meta http-equiv=\"refresh\" content=\"").append(REFRESH_SECONDS).append("\">\n");
		}
		html.append("<title>Job ")
			.append(shortId(job))
			.append(" · ")
			.append(job.status())
			.append(" · fine-tuning report</title>\n<style>")
			.append(STYLE)
			.append("</style>\n</head>\n<body>\n<main>\n");

		// header
		html.append("<header>\n<p class=\"eyebrow\">Fine-tuning report</p>\n<h1>Job <code>")
			.append(job.id())
			.append("</code> ")
			.append(badge(job.status()))
			.append("</h1>\n<p class=\"sub\">")
			.append(Markup.text(spec.baseModel()))
			.append(" · freeze up to ")
			.append(Markup.text(spec.freeze().upTo()))
			.append(" · dataset <code>")
			.append(job.datasetId())
			.append("</code></p>\n</header>\n");

		if (job.error() != null) {
			html.append("<section class=\"error\"><strong>")
				.append(Markup.text(String.valueOf(job.error().type())))
				.append("</strong>: ")
				.append(Markup.text(String.valueOf(job.error().message())))
				.append("</section>\n");
		}

		cards(html, report);

		// curves
		html.append("<section>\n<h2>Training curves</h2>\n<div class=\"charts\">\n");
		figure(html, ReportCharts.loss(report), "report/loss.svg");
		figure(html, ReportCharts.accuracy(report), "report/accuracy.svg");
		figure(html, ReportCharts.learningRate(report), "report/learning-rate.svg");
		epochTable(html, report.epochs());
		html.append("</div>\n</section>\n");

		// final evaluation
		JobReport.Evaluation evaluation = report.evaluation();
		html.append("<section>\n<h2>Validation results</h2>\n");
		if (evaluation == null) {
			html.append("<p class=\"muted\">Per-class precision, recall and F1 and the confusion matrix appear when "
					+ "the job succeeds.</p>\n");
		}
		else {
			html.append("<div class=\"final\">\n");
			classTable(html, evaluation);
			if (!evaluation.labels().isEmpty()) {
				figure(html, ReportCharts.confusionMatrix(evaluation), "report/confusion-matrix.svg");
			}
			html.append("</div>\n");
		}
		html.append("</section>\n");

		specSection(html, job);

		html.append("<footer>JSON: <a href=\"").append(job.id()).append("\">job</a> · <a href=\"metrics\">metrics</a>");
		if (job.modelId() != null) {
			html.append(" · <a href=\"../../models/").append(job.modelId()).append("\">model</a>");
		}
		html.append(" · generated ")
			.append(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
			.append(job.status().isTerminal() ? "" : " · refreshes every " + REFRESH_SECONDS + " s")
			.append("</footer>\n</main>\n</body>\n</html>\n");
		return html.toString();
	}

	private static void cards(StringBuilder html, JobReport report) {
		JobView job = report.job();
		List<EpochMetrics> epochs = report.epochs();
		EpochMetrics last = epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
		double bestVal = epochs.stream()
			.mapToDouble(EpochMetrics::valAccuracy)
			.filter(Double::isFinite)
			.max()
			.orElse(Double.NaN);
		html.append("<section class=\"cards\">\n");
		card(html, "Progress", "epoch " + job.progress().epoch() + " / " + job.progress().totalEpochs(),
				Markup.fixed(job.progress().percent(), 0) + " %"
						+ ((job.progress().etaSeconds() != null && !job.status().isTerminal())
								? " · ETA " + duration(job.progress().etaSeconds()) : ""));
		card(html, "Best val accuracy", Markup.percent(bestVal),
				(report.evaluation() != null) ? "final " + Markup.percent(report.evaluation().accuracy()) : "so far");
		card(html, "Last val loss", (last != null) ? Markup.fixed(last.valLoss(), 4) : "–",
				(last != null) ? "train " + Markup.fixed(last.trainLoss(), 4) : "no epoch yet");
		card(html, "Throughput", (last != null) ? Markup.fixed(last.imagesPerSecond(), 1) + " img/s" : "–",
				(last != null) ? "last epoch " + duration(Math.round(last.durationMs() / 1000.0)) : "");
		card(html, "Wall time", elapsed(job), "attempts " + job.attempts());
		html.append("</section>\n");
	}

	static void card(StringBuilder html, String title, String value, String note) {
		html.append("<div class=\"card\"><div class=\"k\">")
			.append(Markup.text(title))
			.append("</div><div class=\"v\">")
			.append(Markup.text(value))
			.append("</div><div class=\"n\">")
			.append(Markup.text(note))
			.append("</div></div>\n");
	}

	private static void figure(StringBuilder html, String svg, String href) {
		html.append("<figure>")
			.append(svg)
			.append("<figcaption><a href=\"")
			.append(href)
			.append("\">SVG</a></figcaption></figure>\n");
	}

	private static void epochTable(StringBuilder html, List<EpochMetrics> epochs) {
		html.append("<div class=\"panel\"><h3>Per epoch</h3>\n");
		if (epochs.isEmpty()) {
			html.append("<p class=\"muted\">No finished epochs yet.</p></div>\n");
			return;
		}
		html.append("<table class=\"num\"><thead><tr><th>epoch</th><th>train loss</th><th>val loss</th>"
				+ "<th>train acc</th><th>val acc</th><th>lr</th><th>time</th></tr></thead><tbody>\n");
		for (EpochMetrics e : epochs) {
			html.append("<tr><td>")
				.append(e.epoch())
				.append("</td><td>")
				.append(Markup.fixed(e.trainLoss(), 4))
				.append("</td><td>")
				.append(Markup.fixed(e.valLoss(), 4))
				.append("</td><td>")
				.append(Markup.percent(e.trainAccuracy()))
				.append("</td><td>")
				.append(Markup.percent(e.valAccuracy()))
				.append("</td><td>")
				.append(Markup.compact(e.learningRate()))
				.append("</td><td>")
				.append(duration(Math.round(e.durationMs() / 1000.0)))
				.append("</td></tr>\n");
		}
		html.append("</tbody></table></div>\n");
	}

	private static void classTable(StringBuilder html, JobReport.Evaluation evaluation) {
		html.append("<div class=\"panel\"><h3>Per class</h3>\n<table class=\"num\"><thead><tr>"
				+ "<th class=\"l\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
				+ "</tr></thead><tbody>\n");
		double precision = 0;
		double recall = 0;
		double f1 = 0;
		double weightedF1 = 0;
		long support = 0;
		for (Map.Entry<String, JobReport.ClassScores> entry : evaluation.perClass().entrySet()) {
			JobReport.ClassScores s = entry.getValue();
			html.append("<tr><td class=\"l\" title=\"")
				.append(Markup.text(entry.getKey()))
				.append("\">")
				.append(Markup.text(Markup.shorten(entry.getKey(), 40)))
				.append("</td><td>")
				.append(Markup.fixed(s.precision(), 3))
				.append("</td><td>")
				.append(Markup.fixed(s.recall(), 3))
				.append("</td><td><span class=\"bar\"><span style=\"width:")
				.append(Markup.fixed(Double.isFinite(s.f1()) ? s.f1() * 100 : 0, 0))
				.append("%\"></span></span>")
				.append(Markup.fixed(s.f1(), 3))
				.append("</td><td>")
				.append(s.support())
				.append("</td></tr>\n");
			precision += finite(s.precision());
			recall += finite(s.recall());
			f1 += finite(s.f1());
			weightedF1 += finite(s.f1()) * s.support();
			support += s.support();
		}
		int n = Math.max(1, evaluation.perClass().size());
		html.append("</tbody><tfoot><tr><td class=\"l\">macro average</td><td>")
			.append(Markup.fixed(precision / n, 3))
			.append("</td><td>")
			.append(Markup.fixed(recall / n, 3))
			.append("</td><td>")
			.append(Markup.fixed(f1 / n, 3))
			.append("</td><td>")
			.append(support)
			.append("</td></tr>\n<tr><td class=\"l\">weighted F1 · accuracy</td><td></td><td></td><td>")
			.append(Markup.fixed((support > 0) ? weightedF1 / support : Double.NaN, 3))
			.append("</td><td>")
			.append(Markup.percent(evaluation.accuracy()))
			.append("</td></tr></tfoot></table></div>\n");
	}

	private static void specSection(StringBuilder html, JobView job) {
		JobSpec spec = job.spec();
		JobSpec.Hyperparameters h = spec.hyperparameters();
		html.append("<section>\n<h2>Specification</h2>\n<div class=\"spec\">\n<dl>\n");
		row(html, "base model", spec.baseModel());
		row(html, "freeze", "up to " + spec.freeze().upTo() + ", batch norm " + spec.freeze().batchNorm());
		row(html, "epochs", Integer.toString(h.epochs()));
		row(html, "batch size", Integer.toString(h.batchSize()));
		row(html, "learning rate", Markup.compact(h.learningRate()) + " (" + h.lrSchedule() + ")");
		row(html, "optimizer", h.optimizer() + ", momentum " + Markup.compact(h.momentum()) + ", weight decay "
				+ Markup.compact(h.weightDecay()));
		row(html, "image size", h.imageSize() + " px");
		html.append("</dl>\n<dl>\n");
		row(html, "augmentation", h.augmentation());
		row(html, "label smoothing", Markup.compact(h.labelSmoothing()));
		row(html, "class weights", h.classWeights());
		row(html, "early stopping", (h.earlyStopping() == null || h.earlyStopping().patience() == 0) ? "off"
				: "patience " + h.earlyStopping().patience() + " on " + h.earlyStopping().metric());
		row(html, "seed", Long.toString(h.seed()));
		row(html, "device", spec.device() + ((job.node() != null) ? " on " + job.node() : ""));
		row(html, "timeout", spec.timeoutMinutes() + " min");
		html.append("</dl>\n<dl>\n");
		row(html, "created", time(job.createdAt()));
		row(html, "started", time(job.startedAt()));
		row(html, "finished", time(job.finishedAt()));
		row(html, "model", (job.modelId() != null) ? job.modelId().toString() : "–");
		html.append("</dl>\n</div>\n</section>\n");
	}

	private static void row(StringBuilder html, String key, String value) {
		html.append("<dt>").append(Markup.text(key)).append("</dt><dd>").append(Markup.text(value)).append("</dd>\n");
	}

	private static String time(@org.jspecify.annotations.Nullable Instant instant) {
		return (instant != null) ? instant.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString() : "–";
	}

	private static String badge(JobStatus status) {
		return "<span class=\"badge " + status.name().toLowerCase(java.util.Locale.ROOT) + "\">" + status + "</span>";
	}

	private static String shortId(JobView job) {
		return job.id().toString().substring(0, 8);
	}

	private static String elapsed(JobView job) {
		if (job.startedAt() == null) {
			return "–";
		}
		Instant end = (job.finishedAt() != null) ? job.finishedAt() : Instant.now();
		return duration(Math.max(0, Duration.between(job.startedAt(), end).toSeconds()));
	}

	static String duration(long seconds) {
		if (seconds < 60) {
			return seconds + " s";
		}
		if (seconds < 3600) {
			return (seconds / 60) + " min " + (seconds % 60) + " s";
		}
		return (seconds / 3600) + " h " + ((seconds % 3600) / 60) + " min";
	}

	private static double finite(double value) {
		return Double.isFinite(value) ? value : 0;
	}

	static final String STYLE = """
			:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;--accent:#2563eb}
			*{box-sizing:border-box}
			body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 %s}
			main{max-width:1180px;margin:0 auto;padding:28px 24px 40px}
			header{margin-bottom:18px}
			.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px;font-weight:600}
			h1{margin:4px 0;font-size:22px;font-weight:650;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
			h1 code{font-size:18px}
			h2{font-size:16px;margin:26px 0 10px}
			h3{font-size:13px;margin:0 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
			code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace}
			.sub{margin:0;color:var(--muted)}
			.muted{color:var(--muted)}
			.badge{font-size:12px;font-weight:700;letter-spacing:.05em;padding:3px 10px;border-radius:999px;background:#e5e7eb;color:#374151}
			.badge.succeeded{background:#dcfce7;color:#166534}.badge.running{background:#dbeafe;color:#1e40af}
			.badge.queued{background:#fef9c3;color:#854d0e}.badge.failed{background:#fee2e2;color:#991b1b}
			.badge.cancelled{background:#e5e7eb;color:#374151}.badge.stopped_early{background:#ffedd5;color:#9a3412}
			.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:10px;padding:12px 16px;margin:12px 0}
			.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
			.card,.panel,figure,.spec{background:var(--card);border:1px solid var(--line);border-radius:12px}
			.card{padding:12px 16px}
			.card .k{color:var(--muted);font-size:12px}.card .v{font-size:20px;font-weight:650;margin-top:2px}
			.card .n{color:var(--muted);font-size:12px}
			.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
			.final{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:14px;align-items:start}
			figure{margin:0;padding:8px;position:relative;overflow-x:auto}
			figure svg{display:block;max-width:100%%;height:auto}
			figcaption{position:absolute;bottom:8px;right:14px;font-size:11px}
			figcaption a{color:var(--muted)}
			.panel{padding:14px 16px;overflow-x:auto}
			table{border-collapse:collapse;width:100%%}
			th,td{padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
			th{font-size:12px;color:var(--muted);font-weight:600}
			table.num td,table.num th{text-align:right;font-variant-numeric:tabular-nums}
			table.num .l{text-align:left;max-width:260px;overflow:hidden;text-overflow:ellipsis}
			tfoot td{font-weight:600;border-bottom:none}
			.bar{display:inline-block;width:44px;height:6px;background:#e5e7eb;border-radius:3px;margin-right:8px;vertical-align:middle;overflow:hidden}
			.bar span{display:block;height:100%%;background:var(--accent)}
			.spec{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:0 24px;padding:10px 16px;align-items:start}
			dl{display:grid;grid-template-columns:120px 1fr;align-content:start;margin:0}
			dt{color:var(--muted);padding:5px 0;border-bottom:1px solid var(--line)}
			dd{margin:0;padding:5px 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
			footer{margin-top:26px;color:var(--muted);font-size:12px}
			a{color:var(--accent)}
			"""
		.formatted(Charts.FONT);

}
