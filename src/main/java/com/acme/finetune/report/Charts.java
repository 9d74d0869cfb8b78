package com.acme.finetune.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Line charts and a confusion-matrix heat map as self-contained SVG documents, drawn in
 * plain Java. Tooltips are native SVG {@code <title>} elements, so hovering a point or a
 * cell shows its exact value without any script. Every label passes through
 * {@link Markup#text}.
 */
final class Charts {

	static final String FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";

	private static final int WIDTH = 560;

	private static final int HEIGHT = 300;

	private static final int LEFT = 72;

	private static final int RIGHT = 18;

	private static final int TOP = 44;

	private static final int BOTTOM = 46;

	private Charts() {
	}

	/** One line: a name for the legend, a colour, and a value per epoch (NaN = none). */
	record Series(String name, String colour, List<Double> values) {
	}

	/** How the y axis is scaled and labelled. */
	enum Scale {

		/** From zero to a little above the largest value (losses, learning rates). */
		FROM_ZERO,
		/** Fixed 0–100 % (accuracies given as fractions). */
		FRACTION

	}

	static String lineChart(String title, String yTitle, List<Integer> epochs, List<Series> series, Scale scale) {
		return lineChart(title, yTitle, epochs, series, scale, List.of());
	}

	/** A point of a run worth marking on the curves, before the epoch it names. */
	record Marker(int epoch, String label) {
	}

	static String lineChart(String title, String yTitle, List<Integer> epochs, List<Series> series, Scale scale,
			List<Marker> markers) {
		StringBuilder svg = open(WIDTH, HEIGHT, title);
		svg.append(text(LEFT, 22, title, "font-size=\"15\" font-weight=\"600\" fill=\"#111827\""));
		double max = series.stream()
			.flatMap((s) -> s.values().stream())
			.filter(Double::isFinite)
			.mapToDouble(Double::doubleValue)
			.max()
			.orElse(Double.NaN);
		if (epochs.isEmpty() || Double.isNaN(max)) {
			svg.append(frame());
			svg.append(text(LEFT + plotWidth() / 2.0, TOP + plotHeight() / 2.0, "No finished epochs yet",
					"font-size=\"13\" fill=\"#6b7280\" text-anchor=\"middle\""));
			return svg.append("</svg>\n").toString();
		}
		double yMax = (scale == Scale.FRACTION) ? 1.0 : niceCeiling(max);
		if (yMax <= 0) {
			yMax = 1;
		}
		double step = yMax / 5;
		int first = epochs.get(0);
		int last = epochs.get(epochs.size() - 1);
		double xSpan = Math.max(1, last - first);

		// grid and y ticks
		for (int i = 0; i <= 5; i++) {
			double value = step * i;
			double y = y(value, yMax);
			svg.append("<line x1=\"")
				.append(LEFT)
				.append("\" x2=\"")
				.append(WIDTH - RIGHT)
				.append("\" y1=\"")
				.append(Markup.coord(y))
				.append("\" y2=\"")
				.append(Markup.coord(y))
				.append("\" stroke=\"")
				.append((i == 0) ? "#9ca3af" : "#e5e7eb")
				.append("\" stroke-width=\"1\"/>\n");
			String label = (scale == Scale.FRACTION) ? Math.round(value * 100) + "%" : tick(value, step);
			svg.append(text(LEFT - 8, y + 4, label, "font-size=\"11\" fill=\"#6b7280\" text-anchor=\"end\""));
		}
		// x ticks: every epoch, or every n-th when there are many
		int every = Math.max(1, (int) Math.ceil((last - first + 1) / 12.0));
		for (int epoch = first; epoch <= last; epoch += every) {
			double x = x(epoch, first, xSpan);
			svg.append(text(x, HEIGHT - BOTTOM + 18, Integer.toString(epoch),
					"font-size=\"11\" fill=\"#6b7280\" text-anchor=\"middle\""));
		}
		svg.append(text(LEFT + plotWidth() / 2.0, HEIGHT - 8, "epoch",
				"font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\""));
		svg.append("<text transform=\"translate(14,")
			.append(Markup.coord(TOP + plotHeight() / 2.0))
			.append(") rotate(-90)\" font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\">")
			.append(Markup.text(yTitle))
			.append("</text>\n");

		// markers (gradual unfreezing): a dashed line between the epochs before and after
		for (Marker marker : markers) {
			if (marker.epoch() <= first || marker.epoch() > last) {
				continue;
			}
			double x = x(marker.epoch() - 0.5, first, xSpan);
			svg.append("<line class=\"marker\" x1=\"")
				.append(Markup.coord(x))
				.append("\" x2=\"")
				.append(Markup.coord(x))
				.append("\" y1=\"")
				.append(TOP)
				.append("\" y2=\"")
				.append(HEIGHT - BOTTOM)
				.append("\" stroke=\"#6b7280\" stroke-width=\"1\" stroke-dasharray=\"4 3\"><title>")
				.append(Markup.text(marker.label()))
				.append("</title></line>\n");
			svg.append(text(x + 3, TOP + 10, marker.label(), "font-size=\"10\" fill=\"#6b7280\""));
		}

		// lines and points
		for (Series s : series) {
			List<String> points = new ArrayList<>();
			StringBuilder dots = new StringBuilder();
			for (int i = 0; i < epochs.size() && i < s.values().size(); i++) {
				double value = s.values().get(i);
				if (!Double.isFinite(value)) {
					continue;
				}
				double x = x(epochs.get(i), first, xSpan);
				double y = y(Math.min(value, yMax), yMax);
				points.add(Markup.coord(x) + "," + Markup.coord(y));
				String shown = (scale == Scale.FRACTION) ? Markup.percent(value) : Markup.compact(round(value));
				dots.append("<circle cx=\"")
					.append(Markup.coord(x))
					.append("\" cy=\"")
					.append(Markup.coord(y))
					.append("\" r=\"3.5\" fill=\"")
					.append(s.colour())
					.append("\"><title>")
					.append(Markup.text(s.name() + ", epoch " + epochs.get(i) + ": " + shown))
					.append("</title></circle>\n");
			}
			if (points.size() > 1) {
				svg.append("<polyline fill=\"none\" stroke=\"")
					.append(s.colour())
					.append("\" stroke-width=\"2.2\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"")
					.append(String.join(" ", points))
					.append("\"/>\n");
			}
			svg.append(dots);
		}
		legend(svg, series);
		return svg.append("</svg>\n").toString();
	}

	/**
	 * The confusion matrix: rows are true labels, columns predicted ones; a cell's colour
	 * is its share of the row (the class's recall on the diagonal), its text the count.
	 */
	static String heatMap(String title, List<String> labels, long[][] matrix) {
		int n = labels.size();
		int cell = Math.max(18, Math.min(56, 420 / Math.max(1, n)));
		int longest = labels.stream().mapToInt((l) -> Markup.shorten(l, 20).length()).max().orElse(4);
		int labelSpace = Math.min(150, 14 + longest * 7);
		int left = 34 + labelSpace;
		int top = 44;
		int gridSize = cell * n;
		int width = Math.max(left + gridSize + 24, 320);
		int height = top + gridSize + labelSpace + 30;
		StringBuilder svg = open(width, height, title);
		svg.append(text(12, 22, title, "font-size=\"15\" font-weight=\"600\" fill=\"#111827\""));
		for (int row = 0; row < n; row++) {
			long total = 0;
			for (int col = 0; col < n; col++) {
				total += value(matrix, row, col);
			}
			for (int col = 0; col < n; col++) {
				long count = value(matrix, row, col);
				double share = (total > 0) ? (double) count / total : 0;
				int x = left + col * cell;
				int y = top + row * cell;
				svg.append("<rect x=\"")
					.append(x)
					.append("\" y=\"")
					.append(y)
					.append("\" width=\"")
					.append(cell)
					.append("\" height=\"")
					.append(cell)
					.append("\" fill=\"")
					.append(blue(share))
					.append("\" stroke=\"#ffffff\" stroke-width=\"1\"><title>")
					.append(Markup.text("true " + labels.get(row) + ", predicted " + labels.get(col) + ": " + count
							+ " (" + Markup.percent(share) + " of " + labels.get(row) + ")"))
					.append("</title></rect>\n");
				if (cell >= 22) {
					svg.append(text(x + cell / 2.0, y + cell / 2.0 + 4, Long.toString(count),
							"font-size=\"" + ((cell >= 36) ? 13 : 10) + "\" text-anchor=\"middle\" fill=\""
									+ ((share > 0.5) ? "#ffffff" : "#1f2937") + "\""));
				}
			}
			svg.append(text(left - 6, top + row * cell + cell / 2.0 + 4, Markup.shorten(labels.get(row), 20),
					"font-size=\"11\" fill=\"#374151\" text-anchor=\"end\""));
		}
		for (int col = 0; col < n; col++) {
			double x = left + col * cell + cell / 2.0;
			double y = top + gridSize + 8;
			svg.append("<text transform=\"translate(")
				.append(Markup.coord(x))
				.append(",")
				.append(Markup.coord(y))
				.append(") rotate(-40)\" font-size=\"11\" fill=\"#374151\" text-anchor=\"end\" dy=\"0.7em\">")
				.append(Markup.text(Markup.shorten(labels.get(col), 20)))
				.append("</text>\n");
		}
		svg.append("<text transform=\"translate(14,")
			.append(Markup.coord(top + gridSize / 2.0))
			.append(") rotate(-90)\" font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\">true label</text>\n");
		svg.append(text(left + gridSize / 2.0, height - 8, "predicted label",
				"font-size=\"12\" fill=\"#374151\" text-anchor=\"middle\""));
		return svg.append("</svg>\n").toString();
	}

	/** A placeholder with the same look, for a matrix that does not exist yet. */
	static String message(String title, String message) {
		StringBuilder svg = open(WIDTH, 120, title);
		svg.append(text(12, 22, title, "font-size=\"15\" font-weight=\"600\" fill=\"#111827\""));
		svg.append(text(WIDTH / 2.0, 72, message, "font-size=\"13\" fill=\"#6b7280\" text-anchor=\"middle\""));
		return svg.append("</svg>\n").toString();
	}

	// ---------------------------------------------------------------------------------

	static StringBuilder open(int width, int height, String title) {
		StringBuilder svg = new StringBuilder(4096);
		svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
			.append(width)
			.append("\" height=\"")
			.append(height)
			.append("\" viewBox=\"0 0 ")
			.append(width)
			.append(' ')
			.append(height)
			.append("\" role=\"img\" aria-label=\"")
			.append(Markup.text(title))
			.append("\" font-family=\"")
			.append(FONT)
			.append("\">\n<title>")
			.append(Markup.text(title))
			.append("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
		return svg;
	}

	private static String frame() {
		return "<rect x=\"" + LEFT + "\" y=\"" + TOP + "\" width=\"" + plotWidth() + "\" height=\"" + plotHeight()
				+ "\" fill=\"#f9fafb\" stroke=\"#e5e7eb\"/>\n";
	}

	private static void legend(StringBuilder svg, List<Series> series) {
		double x = WIDTH - RIGHT;
		// right-aligned: lay out from the last entry backwards
		for (int i = series.size() - 1; i >= 0; i--) {
			Series s = series.get(i);
			double textWidth = s.name().length() * 6.6;
			x -= textWidth;
			svg.append(text(x, 26, s.name(), "font-size=\"12\" fill=\"#374151\""));
			x -= 22;
			svg.append("<line x1=\"")
				.append(Markup.coord(x))
				.append("\" x2=\"")
				.append(Markup.coord(x + 16))
				.append("\" y1=\"22\" y2=\"22\" stroke=\"")
				.append(s.colour())
				.append("\" stroke-width=\"3\" stroke-linecap=\"round\"/>\n");
			x -= 14;
		}
	}

	static String text(double x, double y, String content, String attributes) {
		return "<text x=\"" + Markup.coord(x) + "\" y=\"" + Markup.coord(y) + "\" " + attributes + ">"
				+ Markup.text(content) + "</text>\n";
	}

	private static int plotWidth() {
		return WIDTH - LEFT - RIGHT;
	}

	private static int plotHeight() {
		return HEIGHT - TOP - BOTTOM;
	}

	private static double x(double epoch, int first, double span) {
		return LEFT + (epoch - first) / span * plotWidth();
	}

	private static double y(double value, double max) {
		return TOP + plotHeight() - Math.max(0, value) / max * plotHeight();
	}

	/** The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above {@code value}, for round ticks. */
	static double niceCeiling(double value) {
		if (value <= 0 || !Double.isFinite(value)) {
			return 1;
		}
		double magnitude = Math.pow(10, Math.floor(Math.log10(value)));
		for (double factor : new double[] { 1, 2, 2.5, 5, 10 }) {
			if (factor * magnitude >= value * (1 - 1e-9)) {
				return factor * magnitude;
			}
		}
		return 10 * magnitude;
	}

	/**
	 * A tick label with as many decimals as the step needs, the same for every tick
	 * (0.0004, 0.0008, 0.0012), or scientific notation for very small steps.
	 */
	static String tick(double value, double step) {
		int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
		if (decimals > 5) {
			return (value == 0) ? "0" : String.format(Locale.ROOT, "%.1e", value);
		}
		return String.format(Locale.ROOT, "%." + decimals + "f", value);
	}

	private static double round(double value) {
		if (value == 0 || !Double.isFinite(value)) {
			return value;
		}
		return Double.parseDouble(String.format(Locale.ROOT, "%.4g", value));
	}

	private static long value(long[][] matrix, int row, int col) {
		return (row < matrix.length && col < matrix[row].length) ? matrix[row][col] : 0;
	}

	/** White to a deep blue (the familiar "Blues" ramp), by share 0–1. */
	private static String blue(double share) {
		double t = Math.max(0, Math.min(1, share));
		int r = (int) Math.round(247 + (8 - 247) * t);
		int g = (int) Math.round(251 + (48 - 251) * t);
		int b = (int) Math.round(255 + (107 - 255) * t);
		return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
	}

}
