package com.acme.finetune.inference;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.io.IOException;
import java.io.InputStream;
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
import com.acme.finetune.web.ProblemType;

/**
 * Turns uploaded bytes into an image no larger than the model needs, or a precise reason
 * why not.
 * <ul>
 * <li>Only the documented formats are read: JPEG, PNG, BMP, GIF and WebP. ImageIO knows
 * more (TIFF, whose reader allocates whatever strip size a header claims), and those are
 * refused from the header, before a pixel is read.</li>
 * <li>The declared size is read from the header first, so a small file claiming billions
 * of pixels (a decompression bomb) is refused without allocating them.</li>
 * <li>Large images are decoded with source subsampling: every {@code s}-th pixel of every
 * {@code s}-th row, with {@code s} as large as keeps the shorter side at least
 * {@value #OVERSAMPLING} times the model's resize target (imageSize·256/224). Subsampling
 * picks pixels without averaging them; keeping twice the target leaves the
 * preprocessing's own halving step (which averages) to remove most of the aliasing: on
 * photo-like test images the model input differs from the full decode's by 1.7-3.8 of 255
 * levels on average, against 7-9 when decoding down to the target itself. Images whose
 * shorter side is under twice that (1024 px for a 224 px model) are decoded whole (s =
 * 1), so their predictions are exactly what they were. Very long images (more than
 * {@value #MAX_ASPECT}:1) are read in their centre {@value #MAX_ASPECT}:1 region, which
 * holds the whole centre crop.</li>
 * </ul>
 * What a decoded image holds is therefore bounded by the target, not by the upload.
 */
final class ImageDecoder {

	static {
		ImagePlugins.register();
	}

	/** ImageIO format names (lower case) of the formats the API documents. */
	static final Set<String> FORMATS = Set.of("jpeg", "jpg", "png", "bmp", "gif", "webp");

	/** The decoded shorter side is at least this many times the resize target. */
	static final int OVERSAMPLING = 2;

	/** Longest side / shortest side beyond which only the centre region is read. */
	static final int MAX_ASPECT = 3;

	private static final String EXPECTED = "JPEG, PNG, BMP, GIF or WebP expected";

	private final long maxPixels;

	ImageDecoder(long maxPixels) {
		this.maxPixels = maxPixels;
	}

	/** The header of an image: its format and declared size, checked, nothing decoded. */
	Header probe(String name, InputStream content) throws InvalidImageException {
		return withReader(name, content, (reader) -> header(name, reader));
	}

	/**
	 * Decodes an image for a model whose preprocessing resizes the shorter side to
	 * {@code resizeTarget}, subsampled as the class comment says.
	 */
	BufferedImage decode(String name, InputStream content, int resizeTarget) throws InvalidImageException {
		return withReader(name, content, (reader) -> read(name, reader, header(name, reader).plan(resizeTarget)));
	}

	private <T> T withReader(String name, InputStream content, ReaderWork<T> work) throws InvalidImageException {
		try (ImageInputStream input = ImageIO.createImageInputStream(content)) {
			if (input == null) {
				throw new InvalidImageException(ProblemType.UNSUPPORTED_IMAGE, name, "cannot be read");
			}
			ImageReader reader = documentedReader(name, input);
			try {
				reader.setInput(input, true, true);
				return work.apply(reader);
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

	/** The first reader of a documented format; another format is unsupported. */
	private static ImageReader documentedReader(String name, ImageInputStream input)
			throws IOException, InvalidImageException {
		Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
		String other = null;
		while (readers.hasNext()) {
			ImageReader reader = readers.next();
			String format = reader.getFormatName().toLowerCase(Locale.ROOT);
			if (FORMATS.contains(format)) {
				return reader;
			}
			other = (other != null) ? other : format;
		}
		throw new InvalidImageException(ProblemType.UNSUPPORTED_IMAGE, name,
				(other != null) ? other.toUpperCase(Locale.ROOT) + " images are not accepted (" + EXPECTED + ")"
						: "not an image (" + EXPECTED + ")");
	}

	private Header header(String name, ImageReader reader) throws IOException, InvalidImageException {
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
		return new Header(reader.getFormatName().toLowerCase(Locale.ROOT), width, height);
	}

	private static BufferedImage read(String name, ImageReader reader, Plan plan)
			throws IOException, InvalidImageException {
		ImageReadParam param = reader.getDefaultReadParam();
		if (plan.subsampling() > 1) {
			param.setSourceSubsampling(plan.subsampling(), plan.subsampling(), 0, 0);
		}
		if (plan.region() != null) {
			param.setSourceRegion(plan.region());
		}
		// truncated JPEGs decode to a half-grey image with only a warning: refuse them
		// (colour-metadata warnings, e.g. a CMYK JPEG without a profile, are harmless)
		List<String> warnings = new ArrayList<>();
		reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
		BufferedImage image = reader.read(0, param);
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

	/** Heap bytes of a decoded image's pixels. */
	static long bytes(BufferedImage image) {
		DataBuffer buffer = image.getRaster().getDataBuffer();
		return (long) buffer.getSize() * buffer.getNumBanks() * DataBuffer.getDataTypeSize(buffer.getDataType()) / 8;
	}

	private static String describe(Exception ex) {
		Throwable cause = ex;
		while (cause.getCause() != null && cause.getMessage() == null) {
			cause = cause.getCause();
		}
		String message = cause.getMessage();
		return (message != null) ? message : cause.getClass().getSimpleName();
	}

	/** An image's format and declared size. */
	record Header(String format, int width, int height) {

		long pixels() {
			return (long) this.width * this.height;
		}

		/** How to decode it for a model whose preprocessing resizes to this. */
		Plan plan(int resizeTarget) {
			int shorter = Math.min(this.width, this.height);
			int longer = Math.max(this.width, this.height);
			int subsampling = Math.max(1, shorter / (OVERSAMPLING * Math.max(1, resizeTarget)));
			Rectangle region = null;
			int regionLonger = longer;
			if (longer > (long) MAX_ASPECT * shorter) {
				regionLonger = MAX_ASPECT * shorter;
				int offset = (longer - regionLonger) / 2;
				region = (this.width >= this.height) ? new Rectangle(offset, 0, regionLonger, this.height)
						: new Rectangle(0, offset, this.width, regionLonger);
			}
			int regionWidth = (this.width >= this.height) ? regionLonger : this.width;
			int regionHeight = (this.width >= this.height) ? this.height : regionLonger;
			return new Plan(subsampling, region, ceilDiv(regionWidth, subsampling), ceilDiv(regionHeight, subsampling));
		}

		private static int ceilDiv(int a, int b) {
			return (a + b - 1) / b;
		}

	}

	/**
	 * How an image is decoded: every {@code subsampling}-th pixel, of {@code region}
	 * (null: all of it), giving {@code width} × {@code height} pixels.
	 */
	record Plan(int subsampling, Rectangle region, int width, int height) {

		long pixels() {
			return (long) this.width * this.height;
		}

	}

	@FunctionalInterface
	private interface ReaderWork<T> {

		T apply(ImageReader reader) throws IOException, InvalidImageException;

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
