package com.acme.finetune.report;

import java.util.Locale;

/**
 * Escaping and number formatting shared by the HTML page and the SVG charts. Everything
 * that came from a client (class labels are folder names from an uploaded archive, job
 * errors quote them) goes through {@link #text}; numbers are formatted with
 * {@link Locale#ROOT} so a server locale never turns {@code 0.5} into {@code 0,5} inside
 * SVG coordinates.
 */
final class Markup {

	private Markup() {
	}

	/**
	 * Escapes text for HTML and XML content and attribute values alike. Characters XML
	 * 1.0 forbids (control characters, lone surrogates) are replaced, so a hostile folder
	 * name cannot make a standalone SVG ill-formed either.
	 */
	static String text(String value) {
		StringBuilder out = new StringBuilder(value.length() + 16);
		for (int i = 0; i < value.length(); i++) {
			char c = value.charAt(i);
			switch (c) {
				case '&' -> out.append("&amp;");
				case '<' -> out.append("&lt;");
				case '>' -> out.append("&gt;");
				case '"' -> out.append("&quot;");
				case '\'' -> out.append("&#39;");
				default -> {
					if (Character.isHighSurrogate(c) && i + 1 < value.length()
							&& Character.isLowSurrogate(value.charAt(i + 1))) {
						out.append(c).append(value.charAt(++i));
					}
					else if (allowedInXml(c)) {
						out.append(c);
					}
					else {
						out.append('\uFFFD');
					}
				}
			}
		}
		return out.toString();
	}

	private static boolean allowedInXml(char c) {
		return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD);
	}

	/** At most {@code max} characters, with an ellipsis when shortened. */
	static String shorten(String value, int max) {
		return (value.codePointCount(0, value.length()) <= max) ? value
				: value.substring(0, value.offsetByCodePoints(0, max - 1)) + "…";
	}

	/** A coordinate: one decimal is plenty on screen and keeps the SVG small. */
	static String coord(double value) {
		return String.format(Locale.ROOT, "%.1f", value);
	}

	static String fixed(double value, int decimals) {
		return Double.isFinite(value) ? String.format(Locale.ROOT, "%." + decimals + "f", value) : "–";
	}

	static String percent(double fraction) {
		return Double.isFinite(fraction) ? String.format(Locale.ROOT, "%.1f%%", fraction * 100) : "–";
	}

	/** A learning rate or any value across magnitudes: 0.01, 0.001, 1.0e-5. */
	static String compact(double value) {
		if (!Double.isFinite(value)) {
			return "–";
		}
		double magnitude = Math.abs(value);
		if (magnitude == 0) {
			return "0";
		}
		if (magnitude >= 1e-3 && magnitude < 1e4) {
			String s = String.format(Locale.ROOT, "%.6f", value);
			s = s.replaceAll("0+$", "");
			return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
		}
		return String.format(Locale.ROOT, "%.1e", value);
	}

}
