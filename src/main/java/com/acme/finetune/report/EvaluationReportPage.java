package com.acme.finetune.report;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.acme.finetune.evaluation.EvaluationView;
import tools.jackson.databind.JsonNode;

/**
 * An evaluation's report: headline numbers, per-class table, confusion matrix,
 * reliability diagram and the most confident mistakes with thumbnails inlined as data
 * URIs, in the job report's style. Self-contained like it: no scripts, nothing remote.
 */
final class EvaluationReportPage {

	private EvaluationReportPage() {
	}

	static String render(EvaluationView evaluation, Map<String, String> thumbnails) {
		StringBuilder html = new StringBuilder(65_536);
		html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
			.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
		if (!evaluation.status().isTerminal()) {
			html.append("<meta http-equiv=\"refresh\" content=\"").append(ReportPage.REFRESH_SECONDS).append("\">\n");
		}
		html.append("<title>Evaluation ")
			.append(evaluation.id().toString(), 0, 8)
			.append(" · ")
			.append(evaluation.status())
			.append(" · evaluation report</title>\n<style>")
			.append(ReportPage.STYLE)
			.append(EXTRA_STYLE)
			.append("</style>\n</head>\n<body>\n<main>\n");
		html.append("<header>\n<p class=\"eyebrow\">Evaluation report</p>\n<h1>Evaluation <code>")
			.append(evaluation.id())
			.append("</code> <span class=\"badge ")
			.append(evaluation.status().name().toLowerCase(Locale.ROOT))
			.append("\">")
			.append(evaluation.status())
			.append("</span></h1>\n<p class=\"sub\">model <code>")
			.append(evaluation.modelId())
			.append("</code>");
		if (evaluation.registeredModel() != null) {
			EvaluationView.RegisteredModel r = evaluation.registeredModel();
			html.append(" (")
				.append(Markup.text(r.name()))
				.append("@")
				.append(Markup.text(r.alias()))
				.append((r.version() != null) ? ", version " + r.version() : "")
				.append(")");
		}
		html.append(" · dataset <code>")
			.append(evaluation.datasetId())
			.append("</code> · split ")
			.append(Markup.text(evaluation.split()))
			.append("</p>\n</header>\n");
		if (evaluation.error() != null) {
			html.append("<section class=\"error\">").append(Markup.text(evaluation.error())).append("</section>\n");
		}
		JsonNode result = evaluation.result();
		if (result == null) {
			html.append("<section class=\"cards\">\n");
			ReportPage.card(html, "Progress",
					evaluation.progress().images() + " / " + evaluation.progress().totalImages() + " images",
					Markup.fixed(evaluation.progress().percent(), 0) + " %");
			html.append("</section>\n<p class=\"muted\">The numbers appear when the evaluation succeeds.</p>\n");
		}
		else {
			body(html, result, thumbnails);
		}
		html.append("<footer>JSON: <a href=\"../")
			.append(evaluation.id())
			.append("\">evaluation</a> · generated ")
			.append(Instant.now().truncatedTo(ChronoUnit.SECONDS))
			.append("</footer>\n</main>\n</body>\n</html>\n");
		return html.toString();
	}

	private static void body(StringBuilder html, JsonNode result, Map<String, String> thumbnails) {
		JsonNode calibration = result.get("calibration");
		html.append("<section class=\"cards\">\n");
		ReportPage.card(html, "Accuracy", Markup.percent(result.get("accuracy").asDouble()),
				result.get("images").asInt() + " images");
		ReportPage.card(html, "Top-" + result.get("topK").asInt() + " accuracy",
				Markup.percent(result.get("topKAccuracy").asDouble()), "true label among the first");
		ReportPage.card(html, "Macro F1", Markup.fixed(result.get("macroF1").asDouble(), 3), "classes with support");
		ReportPage.card(html, "Calibration error",
				Markup.fixed(calibration.get("expectedCalibrationError").asDouble(), 3), "expected (ECE)");
		ReportPage.card(html, "Unreadable", Integer.toString(result.get("failed").size()), "images left out");
		html.append("</section>\n");

		html.append("<section>\n<h2>Per class</h2>\n<div class=\"final\">\n<div class=\"panel\">")
			.append("<table class=\"num\"><thead><tr><th class=\"l\">label</th><th>precision</th><th>recall</th>")
			.append("<th>F1</th><th>support</th></tr></thead><tbody>\n");
		result.get("perClass").properties().forEach((e) -> {
			JsonNode c = e.getValue();
			html.append("<tr><td class=\"l\">")
				.append(Markup.text(e.getKey()))
				.append("</td><td>")
				.append(Markup.fixed(c.get("precision").asDouble(), 3))
				.append("</td><td>")
				.append(Markup.fixed(c.get("recall").asDouble(), 3))
				.append("</td><td>")
				.append(Markup.fixed(c.get("f1").asDouble(), 3))
				.append("</td><td>")
				.append(c.get("support").asInt())
				.append("</td></tr>\n");
		});
		html.append("</tbody></table></div>\n");
		JsonNode confusion = result.get("confusionMatrix");
		List<String> labels = new ArrayList<>();
		confusion.get("labels").forEach((l) -> labels.add(l.asString()));
		long[][] matrix = new long[labels.size()][labels.size()];
		for (int r = 0; r < labels.size(); r++) {
			for (int c = 0; c < labels.size(); c++) {
				matrix[r][c] = confusion.get("matrix").get(r).get(c).asLong();
			}
		}
		html.append("<figure>").append(Charts.heatMap("Confusion matrix", labels, matrix)).append("</figure>\n");
		html.append("<figure>").append(reliability(calibration)).append("</figure>\n");
		html.append("</div>\n</section>\n");

		html.append("<section>\n<h2>Most confident mistakes</h2>\n");
		JsonNode mistakes = result.get("mistakes");
		if (mistakes.isEmpty()) {
			html.append("<p class=\"muted\">None: every image was classified correctly.</p>\n");
		}
		else {
			html.append("<div class=\"mistakes\">\n");
			for (JsonNode m : mistakes) {
				String file = m.get("file").asString();
				String thumbnail = thumbnails.get(file);
				html.append("<div class=\"mistake\">");
				if (thumbnail != null && thumbnail.startsWith("data:image/jpeg;base64,")) {
					html.append("<img alt=\"\" src=\"").append(Markup.text(thumbnail)).append("\">");
				}
				html.append("<div class=\"f\" title=\"")
					.append(Markup.text(file))
					.append("\">")
					.append(Markup.text(Markup.shorten(file, 40)))
					.append("</div><div>true <b>")
					.append(Markup.text(m.get("true").asString()))
					.append("</b></div><div>predicted <b>")
					.append(Markup.text(m.get("predicted").asString()))
					.append("</b> ")
					.append(Markup.percent(m.get("probability").asDouble()))
					.append("</div></div>\n");
			}
			html.append("</div>\n");
		}
		html.append("</section>\n");
	}

	/**
	 * The reliability diagram: per confidence bin, the accuracy of its images (bars)
	 * against the diagonal a calibrated model would follow; bar labels are image counts.
	 */
	static String reliability(JsonNode calibration) {
		int width = 420;
		int height = 340;
		int left = 52;
		int top = 40;
		int plot = 250;
		String title = "Reliability (ECE " + Markup.fixed(calibration.get("expectedCalibrationError").asDouble(), 3)
				+ ")";
		StringBuilder svg = Charts.open(width, height, title);
		svg.append(Charts.text(12, 22, title, "font-size=\"15\" font-weight=\"600\" fill=\"#111827\""));
		svg.append("<rect x=\"")
			.append(left)
			.append("\" y=\"")
			.append(top)
			.append("\" width=\"")
			.append(plot)
			.append("\" height=\"")
			.append(plot)
			.append("\" fill=\"#f9fafb\" stroke=\"#e5e7eb\"/>\n");
		JsonNode bins = calibration.get("bins");
		for (JsonNode bin : bins) {
			double lower = bin.get("lower").asDouble();
			double upper = bin.get("upper").asDouble();
			int count = bin.get("count").asInt();
			if (count == 0) {
				continue;
			}
			double accuracy = bin.get("accuracy").asDouble();
			double x = left + lower * plot;
			double w = (upper - lower) * plot;
			double h = accuracy * plot;
			svg.append("<rect x=\"")
				.append(Markup.coord(x + 1))
				.append("\" y=\"")
				.append(Markup.coord(top + plot - h))
				.append("\" width=\"")
				.append(Markup.coord(Math.max(1, w - 2)))
				.append("\" height=\"")
				.append(Markup.coord(h))
				.append("\" fill=\"#2563eb\" fill-opacity=\"0.75\"><title>")
				.append(Markup.text("confidence " + Markup.fixed(lower, 2) + "–" + Markup.fixed(upper, 2) + ": " + count
						+ " images, accuracy " + Markup.percent(accuracy) + ", mean confidence "
						+ Markup.percent(bin.get("confidence").asDouble())))
				.append("</title></rect>\n");
			svg.append(Charts.text(x + w / 2, top + plot - h - 4, Integer.toString(count),
					"font-size=\"9\" fill=\"#374151\" text-anchor=\"middle\""));
		}
		svg.append("<line x1=\"")
			.append(left)
			.append("\" y1=\"")
			.append(top + plot)
			.append("\" x2=\"")
			.append(left + plot)
			.append("\" y2=\"")
			.append(top)
			.append("\" stroke=\"#dc2626\" stroke-dasharray=\"4 3\"/>\n");
		for (int i = 0; i <= 4; i++) {
			double v = i / 4.0;
			svg.append(Charts.text(left + v * plot, top + plot + 16, Markup.fixed(v, 2),
					"font-size=\"10\" fill=\"#6b7280\" text-anchor=\"middle\""));
			svg.append(Charts.text(left - 6, top + plot - v * plot + 3, Markup.fixed(v, 2),
					"font-size=\"10\" fill=\"#6b7280\" text-anchor=\"end\""));
		}
		svg.append(Charts.text(left + plot / 2.0, top + plot + 36, "confidence (top-1 probability)",
				"font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\""));
		svg.append("<text transform=\"translate(14,")
			.append(top + plot / 2)
			.append(") rotate(-90)\" font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\">accuracy</text>\n");
		return svg.append("</svg>\n").toString();
	}

	private static final String EXTRA_STYLE = """
			.mistakes{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
			.mistake{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:8px;font-size:12px}
			.mistake img{display:block;margin-bottom:4px;image-rendering:auto}
			.mistake .f{color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
			""";

}
