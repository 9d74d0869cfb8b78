package com.acme.finetune.image;

import java.util.List;
import java.util.Locale;

/**
 * Which ImageIO reader warnings mean the pixels are damaged. Readers report a truncated
 * JPEG ("Premature end of JPEG file") or a broken entropy-coded segment as a warning and
 * return a partly grey image, so a warning cannot simply be ignored; but they also warn
 * about colour metadata and thumbnails (a CMYK JPEG without an embedded ICC profile, an
 * invalid Adobe marker, a truncated JFIF thumbnail, stray bytes between markers) while
 * decoding every pixel: those images are sound.
 */
public final class ImageReadWarnings {

	/** Lower-case fragments of warnings that leave the decoded pixels intact. */
	private static final List<String> HARMLESS = List.of("icc", "color profile", "colour profile",
			"colors may look incorrect", "thumbnail", "app14", "jfif", "jfxx", "extraneous bytes before marker");

	private ImageReadWarnings() {
	}

	/** The first warning that means damaged pixels, or null when there is none. */
	public static String firstDamage(List<String> warnings) {
		for (String warning : warnings) {
			if (damagesPixels(warning)) {
				return warning;
			}
		}
		return null;
	}

	static boolean damagesPixels(String warning) {
		if (warning == null) {
			return true;
		}
		String lower = warning.toLowerCase(Locale.ROOT);
		return HARMLESS.stream().noneMatch(lower::contains);
	}

}
