package com.acme.finetune.dataset.intake;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import com.acme.finetune.image.ImagePlugins;
import com.acme.finetune.image.ImageReadWarnings;

/**
 * Decodes one image file completely to prove it is usable for training. The declared size
 * is read from the header and judged before any pixel is decoded, so a tiny file
 * declaring a gigantic image (decompression bomb) never allocates a raster.
 */
final class ImageInspector {

	static {
		ImagePlugins.register();
	}

	/**
	 * Formats the training pipeline can read; other ImageIO plugins (TIFF, WBMP) are
	 * refused.
	 */
	private static final Set<String> FORMATS = Set.of("jpeg", "png", "bmp", "gif", "webp");

	/**
	 * Largest raster decoded at once. Bigger images are decoded with source subsampling:
	 * every byte of the stream is still read and decompressed (so truncation and
	 * corruption are found) but the heap holds at most this many pixels per upload.
	 */
	private static final long DECODE_PIXEL_BUDGET = 4_000_000;

	private final long maxPixels;

	ImageInspector(long maxPixels) {
		this.maxPixels = maxPixels;
	}

	ImageInfo inspect(Path file) throws InvalidImageException {
		try (ImageInputStream input = ImageIO.createImageInputStream(file.toFile())) {
			if (input == null) {
				throw new InvalidImageException("cannot be read");
			}
			Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
			if (!readers.hasNext()) {
				throw new InvalidImageException("not an image (JPEG, PNG, BMP, GIF or WebP expected)", true);
			}
			ImageReader reader = readers.next();
			try {
				return read(reader, input);
			}
			finally {
				reader.dispose();
			}
		}
		catch (InvalidImageException ex) {
			throw ex;
		}
		catch (Exception ex) {
			throw new InvalidImageException("corrupt or truncated image (" + describe(ex) + ")");
		}
	}

	private ImageInfo read(ImageReader reader, ImageInputStream input) throws Exception {
		String format = reader.getFormatName().toLowerCase(Locale.ROOT);
		format = "jpg".equals(format) ? "jpeg" : format;
		if (!FORMATS.contains(format)) {
			throw new InvalidImageException("unsupported image format " + format);
		}
		reader.setInput(input, true, true);
		int width = reader.getWidth(0);
		int height = reader.getHeight(0);
		if (width <= 0 || height <= 0) {
			throw new InvalidImageException("invalid dimensions " + width + "x" + height);
		}
		long pixels = (long) width * height;
		if (pixels > this.maxPixels) {
			throw new InvalidImageException("declares " + width + "x" + height + " = " + pixels
					+ " pixels, over the limit of " + this.maxPixels);
		}
		// Readers report truncated JPEGs ("Premature end of JPEG file") as warnings and
		// return a half-grey image; for a training set that is corruption. Warnings about
		// colour metadata (a CMYK JPEG without an ICC profile) leave the pixels intact.
		List<String> warnings = new ArrayList<>();
		reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
		ImageReadParam param = reader.getDefaultReadParam();
		int step = (int) Math.ceil(Math.sqrt((double) pixels / DECODE_PIXEL_BUDGET));
		if (step > 1) {
			param.setSourceSubsampling(step, step, 0, 0);
		}
		if (reader.read(0, param) == null) {
			throw new InvalidImageException("no image data");
		}
		String damage = ImageReadWarnings.firstDamage(warnings);
		if (damage != null) {
			throw new InvalidImageException("corrupt or truncated image (" + damage + ")");
		}
		return new ImageInfo(format, width, height);
	}

	private static String describe(Exception ex) {
		Throwable cause = ex;
		while (cause.getCause() != null && cause.getMessage() == null) {
			cause = cause.getCause();
		}
		String message = cause.getMessage();
		return (message != null) ? message : cause.getClass().getSimpleName();
	}

	record ImageInfo(String format, int width, int height) {
	}

	static final class InvalidImageException extends Exception {

		private final boolean notAnImage;

		InvalidImageException(String reason) {
			this(reason, false);
		}

		InvalidImageException(String reason, boolean notAnImage) {
			super(reason, null, false, false);
			this.notAnImage = notAnImage;
		}

		/**
		 * No image reader recognises the file (a README, a CSV), as opposed to a damaged
		 * image.
		 */
		boolean notAnImage() {
			return this.notAnImage;
		}

	}

}
