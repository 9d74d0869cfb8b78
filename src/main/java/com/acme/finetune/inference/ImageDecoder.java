package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import com.acme.finetune.training.ImagePlugins;
import com.acme.finetune.training.ImageReadWarnings;
import com.acme.finetune.web.ProblemType;

/**
 * Turns uploaded bytes into an image or a precise reason why not. The declared size is
 * read from the header before any pixel is decoded, so a small file claiming billions of
 * pixels (a decompression bomb) is refused without allocating them.
 */
final class ImageDecoder {

	static {
		ImagePlugins.register();
	}

	private final long maxPixels;

	ImageDecoder(long maxPixels) {
		this.maxPixels = maxPixels;
	}

	BufferedImage decode(String name, InputStream content) throws InvalidImageException {
		try (ImageInputStream input = ImageIO.createImageInputStream(content)) {
			if (input == null) {
				throw new InvalidImageException(ProblemType.UNSUPPORTED_IMAGE, name, "cannot be read");
			}
			Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
			if (!readers.hasNext()) {
				throw new InvalidImageException(ProblemType.UNSUPPORTED_IMAGE, name,
						"not an image (JPEG, PNG, BMP, GIF or WebP expected)");
			}
			ImageReader reader = readers.next();
			try {
				return read(name, reader, input);
			}
			finally {
				reader.dispose();
			}
		}
		catch (InvalidImageException ex) {
			throw ex;
		}
		catch (IOException | RuntimeException ex) {
			// readers throw all sorts (IIOException, IndexOutOfBounds, NegativeArraySize)
			// on damaged data; every one of them means the same to the client
			throw new InvalidImageException(ProblemType.INVALID_IMAGE, name,
					"corrupt or truncated image (" + describe(ex) + ")");
		}
	}

	private BufferedImage read(String name, ImageReader reader, ImageInputStream input)
			throws IOException, InvalidImageException {
		reader.setInput(input, true, true);
		int width = reader.getWidth(0);
		int height = reader.getHeight(0);
		if (width <= 0 || height <= 0) {
			throw new InvalidImageException(ProblemType.INVALID_IMAGE, name,
					"invalid dimensions " + width + "x" + height);
		}
		long pixels = (long) width * height;
		if (pixels > this.maxPixels) {
			throw new InvalidImageException(ProblemType.IMAGE_TOO_LARGE, name, "declares " + width + "x" + height
					+ " = " + pixels + " pixels, over the limit of " + this.maxPixels);
		}
		// truncated JPEGs decode to a half-grey image with only a warning: refuse them
		// (colour-metadata warnings, e.g. a CMYK JPEG without a profile, are harmless)
		List<String> warnings = new ArrayList<>();
		reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
		BufferedImage image = reader.read(0);
		if (image == null) {
			throw new InvalidImageException(ProblemType.INVALID_IMAGE, name, "no image data");
		}
		String damage = ImageReadWarnings.firstDamage(warnings);
		if (damage != null) {
			throw new InvalidImageException(ProblemType.INVALID_IMAGE, name,
					"corrupt or truncated image (" + damage + ")");
		}
		return image;
	}

	private static String describe(Exception ex) {
		Throwable cause = ex;
		while (cause.getCause() != null && cause.getMessage() == null) {
			cause = cause.getCause();
		}
		String message = cause.getMessage();
		return (message != null) ? message : cause.getClass().getSimpleName();
	}

	/** Why one uploaded file is not usable, with the problem type it maps to. */
	static final class InvalidImageException extends Exception {

		private final ProblemType type;

		private final String file;

		InvalidImageException(ProblemType type, String file, String reason) {
			super(reason);
			this.type = type;
			this.file = file;
		}

		ProblemType type() {
			return this.type;
		}

		String file() {
			return this.file;
		}

	}

}
