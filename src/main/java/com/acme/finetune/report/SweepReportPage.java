package com.acme.finetune.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.sweep.SweepView;

/**
 * The sweep report: leaderboard, the objective against each numeric parameter (a log axis
 * where the dimension was sampled log-uniformly), every trial's validation curve on one
 * chart (trials stopped early end where they stopped), and the best trial's confusion
 * matrix. Self-contained like the job report: inline SVG, no scripts.
 */
final class SweepReportPage {

	private static final String[] PALETTE = { "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
			"#ca8a04", "#db2777", "#4b5563", "#65a30d" };

	private SweepReportPage() {
	}

	/**
	 * @param curves per trial job, its per-epoch validation metric (NaN where missing)
	 * @param confusion the best trial's {@code {labels, matrix}}, or null
	 */
	static String render(SweepView sweep, Map<UUID, List<Double>> curves, Map<String, Object> confusion) {
		String metric = String.valueOf(sweep.spec().objective().metric());
		StringBuilder html = new StringBuilder(32_768);
		html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
		if (!sweep.status().isTerminal()) {
			html.append("<meta http-equiv=\"refresh\" content=\"5\">\n");
		}
		html.append("<title>Sweep ")
			.append(sweep.id().toString(), 0, 8)
			.append(" · ")
			.append(sweep.status())
			.append(" · sweep report</title>\n<style>")
			.append(ReportPage.STYLE)
			.append("table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left;font-size:13px}")
			.append("</style>\n</head>\n<body>\n<main>\n");
		html.append("<header>\n<p class=\"eyebrow\">Sweep report</p>\n<h1>Sweep <code>")
			.append(sweep.id())
			.append("</code> <span class=\"badge ")
			.append(sweep.status().name().toLowerCase(Locale.ROOT))
			.append("\">")
			.append(sweep.status())
			.append("</span></h1>\n<p class=\"sub\">")
			.append(Markup.text(sweep.baseModel()))
			.append(" · ")
			.append(Markup.text(sweep.spec().strategy()))
			.append(" · objective ")
			.append(Markup.text(metric))
			.append(" (")
			.append(Markup.text(sweep.spec().objective().goal()))
			.append(") · dataset <code>")
			.append(sweep.datasetId())
			.append("</code></p>\n</header>\n");
		if (sweep.error() != null) {
			html.append("<section class=\"error\">").append(Markup.text(sweep.error())).append("</section>\n");
		}
		SweepView.Progress p = sweep.progress();
		html.append("<section class=\"cards\">")
			.append(card("Trials", p.done() + " / " + p.trialsPlanned(),
					p.running() + " running · " + p.queued() + " queued"))
			.append(card("Stopped early", String.valueOf(p.stoppedEarly()),
					p.epochsSavedByEarlyTermination() + " epochs saved"))
			.append(card("Epochs", p.epochsSpent() + " / " + p.epochsFullRun(), "spent / full run"))
			.append(card("Best " + metric,
					(sweep.bestTrial() != null && sweep.bestTrial().objective() != null)
							? Markup.fixed(sweep.bestTrial().objective(), 4) : "–",
					(sweep.bestTrial() != null) ? "trial " + sweep.bestTrial().trial() : ""))
			.append("</section>\n");

		html.append("<h2>Leaderboard</h2>\n<table><tr><th>#</th><th>trial</th><th>state</th><th>")
			.append(Markup.text(metric))
			.append("</th><th>epochs</th><th>parameters</th><th>job</th></tr>\n");
		int rank = 1;
		for (SweepView.Trial t : sweep.leaderboard()) {
			html.append("<tr><td>")
				.append(rank++)
				.append("</td><td>")
				.append(t.trial())
				.append("</td><td><span class=\"badge ")
				.append(t.state().toLowerCase(Locale.ROOT))
				.append("\">")
				.append(Markup.text(t.state()))
				.append("</span></td><td>")
				.append((t.objective() != null) ? Markup.fixed(t.objective(), 4) : "–")
				.append("</td><td>")
				.append(t.epochs())
				.append((t.stoppedAtEpoch() != null) ? " (stopped)" : "")
				.append("</td><td><code>")
				.append(Markup.text(String.valueOf(t.params())))
				.append("</code></td><td><code>")
				.append(t.jobId().toString(), 0, 8)
				.append("</code></td></tr>\n");
		}
		html.append("</table>\n");

		html.append("<h2>Validation curves</h2>\n<section class=\"charts\"><figure>")
			.append(curves(sweep, curves))
			.append("</figure></section>\n");

		List<String> scatters = new ArrayList<>();
		sweep.spec().searchSpace().properties().forEach((entry) -> {
			String kind = entry.getValue().propertyNames().iterator().next();
			boolean numeric = !"choice".equals(kind)
					|| sweep.leaderboard().stream().allMatch((t) -> t.params().get(entry.getKey()) instanceof Number);
			if (numeric) {
				scatters.add(scatter(sweep, entry.getKey(), "logUniform".equals(kind), metric));
			}
		});
		if (!scatters.isEmpty()) {
			html.append("<h2>Objective by parameter</h2>\n<section class=\"charts\">");
			scatters.forEach((svg) -> html.append("<figure>").append(svg).append("</figure>"));
			html.append("</section>\n");
		}

		if (confusion != null && confusion.get("labels") instanceof List<?> labels
				&& confusion.get("matrix") instanceof List<?> rows) {
			long[][] matrix = new long[rows.size()][];
			for (int i = 0; i < rows.size(); i++) {
				List<?> row = (List<?>) rows.get(i);
				matrix[i] = row.stream().mapToLong((v) -> ((Number) v).longValue()).toArray();
			}
			html.append("<h2>Best trial: confusion matrix</h2>\n<section class=\"final\"><figure>")
				.append(Charts.heatMap("Confusion matrix (trial " + sweep.bestTrial().trial() + ")",
						labels.stream().map(String::valueOf).toList(), matrix))
				.append("</figure></section>\n");
		}
		html.append("</main>\n</body>\n</html>\n");
		return html.toString();
	}

	private static String card(String key, String value, String note) {
		return "<div class=\"card\"><div class=\"k\">" + Markup.text(key) + "</div><div class=\"v\">"
				+ Markup.text(value) + "</div><div class=\"n\">" + Markup.text(note) + "</div></div>";
	}

	private static String curves(SweepView sweep, Map<UUID, List<Double>> curves) {
		int epochs = sweep.spec().maxEpochs();
		List<Integer> axis = new ArrayList<>();
		for (int e = 1; e <= epochs; e++) {
			axis.add(e);
		}
		List<Charts.Series> series = new ArrayList<>();
		List<SweepView.Trial> trials = new ArrayList<>(sweep.leaderboard());
		trials.sort(java.util.Comparator.comparingInt(SweepView.Trial::trial));
		for (SweepView.Trial t : trials) {
			List<Double> values = new ArrayList<>(curves.getOrDefault(t.jobId(), List.of()));
			while (values.size() < epochs) {
				values.add(Double.NaN);
			}
			String name = "trial " + t.trial() + ((t.stoppedAtEpoch() != null) ? " (stopped)" : "");
			series.add(new Charts.Series(name, PALETTE[t.trial() % PALETTE.length], values.subList(0, epochs)));
		}
		boolean loss = "valLoss".equals(sweep.spec().objective().epochMetric());
		return Charts.lineChart(loss ? "Validation loss by trial" : "Validation accuracy by trial",
				loss ? "loss" : "accuracy", axis, series, loss ? Charts.Scale.FROM_ZERO : Charts.Scale.FRACTION);
	}

	/** Objective against one parameter, one dot per trial with an objective. */
	static String scatter(SweepView sweep, String path, boolean log, String metric) {
		int width = 560;
		int height = 320;
		int left = 72;
		int right = 18;
		int top = 44;
		int bottom = 46;
		List<double[]> points = new ArrayList<>();
		for (SweepView.Trial t : sweep.leaderboard()) {
			if (t.objective() != null && t.params().get(path) instanceof Number n && (!log || n.doubleValue() > 0)) {
				points.add(new double[] { log ? Math.log10(n.doubleValue()) : n.doubleValue(), t.objective() });
			}
		}
		StringBuilder svg = new StringBuilder();
		svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ")
			.append(width)
			.append(' ')
			.append(height)
			.append("\" width=\"")
			.append(width)
			.append("\" height=\"")
			.append(height)
			.append("\" font-family=\"")
			.append(Markup.text(Charts.FONT))
			.append("\" role=\"img\"><title>")
			.append(Markup.text(metric + " by " + path))
			.append("</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>")
			.append("<text x=\"")
			.append(left)
			.append("\" y=\"22\" font-size=\"15\" font-weight=\"600\" fill=\"#111827\">")
			.append(Markup.text(metric + " by " + path + (log ? " (log scale)" : "")))
			.append("</text>");
		if (points.isEmpty()) {
			svg.append("<text x=\"")
				.append(left)
				.append("\" y=\"")
				.append(height / 2)
				.append("\" fill=\"#6b7280\">No trial has an objective yet</text></svg>");
			return svg.toString();
		}
		double minX = points.stream().mapToDouble((q) -> q[0]).min().orElseThrow();
		double maxX = points.stream().mapToDouble((q) -> q[0]).max().orElseThrow();
		double minY = points.stream().mapToDouble((q) -> q[1]).min().orElseThrow();
		double maxY = points.stream().mapToDouble((q) -> q[1]).max().orElseThrow();
		double spanX = (maxX > minX) ? maxX - minX : 1;
		double spanY = (maxY > minY) ? maxY - minY : 1;
		int plotW = width - left - right;
		int plotH = height - top - bottom;
		svg.append("<rect x=\"")
			.append(left)
			.append("\" y=\"")
			.append(top)
			.append("\" width=\"")
			.append(plotW)
			.append("\" height=\"")
			.append(plotH)
			.append("\" fill=\"none\" stroke=\"#e5e7eb\"/>");
		for (double[] q : points) {
			double x = left + 8 + (q[0] - minX) / spanX * (plotW - 16);
			double y = top + plotH - 8 - (q[1] - minY) / spanY * (plotH - 16);
			svg.append("<circle cx=\"")
				.append(Markup.coord(x))
				.append("\" cy=\"")
				.append(Markup.coord(y))
				.append("\" r=\"5\" fill=\"#2563eb\" fill-opacity=\"0.75\"/>");
		}
		String lowX = log ? String.format(Locale.ROOT, "%.3g", Math.pow(10, minX)) : Markup.fixed(minX, 4);
		String highX = log ? String.format(Locale.ROOT, "%.3g", Math.pow(10, maxX)) : Markup.fixed(maxX, 4);
		svg.append(axisText(left, height - 24, lowX, "start"))
			.append(axisText(width - right, height - 24, highX, "end"))
			.append(axisText(left - 6, top + plotH - 4, Markup.fixed(minY, 3), "end"))
			.append(axisText(left - 6, top + 12, Markup.fixed(maxY, 3), "end"))
			.append(axisText(left + plotW / 2, height - 8, path, "middle"))
			.append("</svg>");
		return svg.toString();
	}

	private static String axisText(double x, double y, String text, String anchor) {
		return "<text x=\"" + Markup.coord(x) + "\" y=\"" + Markup.coord(y) + "\" font-size=\"11\" fill=\"#6b7280\""
				+ " text-anchor=\"" + anchor + "\">" + Markup.text(text) + "</text>";
	}

}
