package com.acme.finetune.dataset.intake;

import java.text.Normalizer;
import java.util.Locale;

/**
 * Rules for text that clients choose and the service stores and shows again: class folder
 * names (labels) and dataset names. Control characters are refused because labels end up
 * in line-based files, logs and reports, where a {@code \n} shifts every label after it
 * or forges a line.
 */
public final class SafeText {

	private SafeText() {
	}

	/**
	 * The first code point that must not appear in a label or a name, or -1: C0 and C1
	 * controls (NUL, tab, line feed, carriage return, DEL…), the Unicode line and
	 * paragraph separators, bidirectional overrides and isolates (they reorder how a name
	 * reads), and lone surrogates (not encodable).
	 */
	static int firstControlCharacter(String text) {
		for (int i = 0; i < text.length();) {
			int c = text.codePointAt(i);
			if (isControl(c)) {
				return c;
			}
			i += Character.charCount(c);
		}
		return -1;
	}

	public static boolean hasControlCharacter(String text) {
		return firstControlCharacter(text) >= 0;
	}

	public static String withoutControlCharacters(String text) {
		StringBuilder clean = new StringBuilder(text.length());
		text.codePoints().filter((c) -> !isControl(c)).forEach(clean::appendCodePoint);
		return clean.toString();
	}

	private static boolean isControl(int c) {
		int type = Character.getType(c);
		return type == Character.CONTROL || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
				|| type == Character.SURROGATE || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
	}

	/** {@code U+000A}, how a code point is named in a problem. */
	static String codePoint(int c) {
		return String.format(Locale.ROOT, "U+%04X", c);
	}

	/**
	 * At most {@code max} UTF-16 characters, never splitting a surrogate pair: no more
	 * than the code points PostgreSQL counts, and what H2 counts.
	 */
	public static String truncate(String text, int max) {
		if (text.length() <= max) {
			return text;
		}
		int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
		return text.substring(0, end);
	}

	/**
	 * The same for names that differ only by letter case or Unicode normalisation
	 * ({@code Cat}/{@code cat}, {@code café} composed or decomposed): NFC, then a
	 * locale-independent case fold (upper then lower, so {@code ß} and {@code ss}, or
	 * {@code σ} and {@code ς}, meet).
	 */
	static String foldKey(String text) {
		String folded = Normalizer.normalize(text, Normalizer.Form.NFC)
			.toUpperCase(Locale.ROOT)
			.toLowerCase(Locale.ROOT);
		return Normalizer.normalize(folded, Normalizer.Form.NFC);
	}

}
