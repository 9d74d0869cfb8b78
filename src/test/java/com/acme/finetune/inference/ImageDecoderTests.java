package com.acme.finetune.inference;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import com.acme.finetune.inference.ImageDecoder.Header;
import com.acme.finetune.inference.ImageDecoder.InvalidImageException;
import com.acme.finetune.inference.ImageDecoder.Plan;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Prediction images are decoded no larger than the model needs, from the documented
 * formats only.
 */
class ImageDecoderTests {

	private final ImageDecoder decoder = new ImageDecoder(40_000_000);

	@Test
	void subsamplingKeepsTheShorterSideAtLeastTheResizeTarget() {
		for (int target : new int[] { 37, 256, 293, 1170 }) {
			for (int shorter = 1; shorter < 20 * target; shorter += 7) {
				for (int longer : new int[] { shorter, shorter * 4 / 3, shorter * 2, shorter * 3, shorter * 10 }) {
					Plan plan = new Header("png", longer, shorter).plan(target);
					int decodedShorter = Math.min(plan.width(), plan.height());
					int decodedLonger = Math.max(plan.width(), plan.height());
					// never below twice the target (unless the image is), never above 4
					// times
					int least = ImageDecoder.OVERSAMPLING * target;
					assertThat(decodedShorter).as("%dx%d for %d", longer, shorter, target)
						.isGreaterThanOrEqualTo(Math.min(shorter, least))
						.isLessThanOrEqualTo(2 * least);
					assertThat(decodedLonger).isLessThanOrEqualTo(ImageDecoder.MAX_ASPECT * decodedShorter + 1);
					if (shorter < 2 * least) {
						assertThat(plan.subsampling()).isEqualTo(1);
					}
				}
			}
		}
	}

	@Test
	void normalSizedImagesAreDecodedWhole() throws Exception {
		BufferedImage scene = scene(500, 375, 1);
		for (String format : List.of("png", "bmp")) {
			BufferedImage decoded = this.decoder.decode("a." + format, stream(scene, format), 256);
			assertThat(pixels(decoded)).isEqualTo(pixels(scene));
		}
		byte[] jpeg = bytes(scene, "jpeg");
		assertThat(pixels(this.decoder.decode("a.jpg", new ByteArrayInputStream(jpeg), 256)))
			.isEqualTo(pixels(ImageIO.read(new ByteArrayInputStream(jpeg))));
	}

	@Test
	void largeImagesAreSubsampledInEveryDocumentedFormat() throws Exception {
		BufferedImage scene = scene(2000, 1500, 2);
		for (String format : List.of("png", "jpeg", "bmp", "gif")) {
			byte[] data = bytes(scene, format);
			Header header = this.decoder.probe("big", new ByteArrayInputStream(data));
			assertThat(header.width()).isEqualTo(2000);
			Plan plan = header.plan(256);
			assertThat(plan.subsampling()).isEqualTo(2);
			BufferedImage decoded = this.decoder.decode("big", new ByteArrayInputStream(data), 256);
			assertThat(decoded.getWidth()).as(format).isEqualTo(1000);
			assertThat(decoded.getHeight()).as(format).isEqualTo(750);
			// every second pixel of every second row
			if (!format.equals("jpeg") && !format.equals("gif")) {
				assertThat(decoded.getRGB(7, 11) & 0xFFFFFF).isEqualTo(scene.getRGB(14, 22) & 0xFFFFFF);
			}
			assertThat(this.decoder.decode("big", new ByteArrayInputStream(data), 64).getWidth()).isEqualTo(182);
		}
		// WebP: the fixture is small, but the reader takes the same parameters
		try (InputStream webp = getClass().getResourceAsStream("/fixtures/images/tiny.webp")) {
			byte[] data = webp.readAllBytes();
			Header header = this.decoder.probe("tiny.webp", new ByteArrayInputStream(data));
			assertThat(header.format()).isEqualTo("webp");
			int target = Math.max(1, Math.min(header.width(), header.height()) / 6);
			Plan plan = header.plan(target);
			BufferedImage decoded = this.decoder.decode("tiny.webp", new ByteArrayInputStream(data), target);
			assertThat(decoded.getWidth()).isEqualTo(plan.width());
			assertThat(decoded.getHeight()).isEqualTo(plan.height());
		}
	}

	@Test
	void veryLongImagesAreReadInTheirCentre() throws Exception {
		BufferedImage strip = scene(4000, 300, 3);
		Plan plan = new Header("png", 4000, 300).plan(37);
		assertThat(plan.region()).isEqualTo(new Rectangle(1550, 0, 900, 300));
		assertThat(plan.subsampling()).isEqualTo(4);
		BufferedImage decoded = this.decoder.decode("strip.png", stream(strip, "png"), 37);
		assertThat(decoded.getWidth()).isEqualTo(225);
		assertThat(decoded.getHeight()).isEqualTo(75);
		assertThat(decoded.getRGB(0, 0) & 0xFFFFFF).isEqualTo(strip.getRGB(1550, 0) & 0xFFFFFF);
		Plan tall = new Header("png", 300, 4000).plan(37);
		assertThat(tall.region()).isEqualTo(new Rectangle(0, 1550, 300, 900));
	}

	@Test
	void tiffAndOtherUndocumentedFormatsAreUnsupported() throws Exception {
		byte[] tiff = bytes(scene(64, 64, 4), "tiff");
		for (byte[] data : List.of(tiff, hostileTiff(), bytes(scene(64, 64, 4), "wbmp"))) {
			assertThatExceptionOfType(InvalidImageException.class)
				.isThrownBy(() -> this.decoder.probe("x", new ByteArrayInputStream(data)))
				.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.UNSUPPORTED_IMAGE));
			assertThatExceptionOfType(InvalidImageException.class)
				.isThrownBy(() -> this.decoder.decode("x", new ByteArrayInputStream(data), 256))
				.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.UNSUPPORTED_IMAGE));
		}
		assertThatExceptionOfType(InvalidImageException.class)
			.isThrownBy(() -> this.decoder.probe("t.tif", new ByteArrayInputStream(tiff)))
			.withMessageContaining("TIF");
	}

	/**
	 * A little-endian TIFF whose one strip claims 2^31-1 bytes: the JDK's TIFF reader
	 * allocates that much before reading (OutOfMemoryError on upload, issue 14).
	 */
	static byte[] hostileTiff() {
		ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 9 * 12 + 4).order(ByteOrder.LITTLE_ENDIAN);
		tiff.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
		tiff.putShort((short) 9);
		entry(tiff, 256, 4, 50_000); // width
		entry(tiff, 257, 4, 40_000); // height
		entry(tiff, 258, 3, 8); // bits per sample
		entry(tiff, 259, 3, 1); // no compression
		entry(tiff, 262, 3, 1); // black is zero
		entry(tiff, 273, 4, 200); // strip offset
		entry(tiff, 277, 3, 1); // samples per pixel
		entry(tiff, 278, 4, 40_000); // rows per strip
		entry(tiff, 279, 4, Integer.MAX_VALUE); // strip byte count
		tiff.putInt(0);
		return tiff.array();
	}

	private static void entry(ByteBuffer tiff, int tag, int type, int value) {
		tiff.putShort((short) tag).putShort((short) type).putInt(1);
		if (type == 3) {
			tiff.putShort((short) value).putShort((short) 0);
		}
		else {
			tiff.putInt(value);
		}
	}

	/**
	 * Something like a photograph: smooth gradients, shapes of many sizes, fine texture.
	 */
	static BufferedImage scene(int width, int height, long seed) {
		Random random = new Random(seed);
		BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		Graphics2D g = image.createGraphics();
		g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
		g.setPaint(new GradientPaint(0, 0, new Color(90, 140, 200), 0, height, new Color(200, 190, 150)));
		g.fillRect(0, 0, width, height);
		int unit = Math.min(width, height);
		for (int i = 0; i < 40; i++) {
			g.setColor(new Color(random.nextInt(256), random.nextInt(256), random.nextInt(256), 200));
			int w = unit / 40 + random.nextInt(unit / 4);
			int h = unit / 40 + random.nextInt(unit / 4);
			g.fillOval(random.nextInt(width), random.nextInt(height), w, h);
		}
		g.setStroke(new BasicStroke(Math.max(1, unit / 300f)));
		for (int i = 0; i < 60; i++) {
			g.setColor(new Color(random.nextInt(256), random.nextInt(256), random.nextInt(256)));
			g.drawLine(random.nextInt(width), random.nextInt(height), random.nextInt(width), random.nextInt(height));
		}
		g.dispose();
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				int rgb = image.getRGB(x, y);
				int n = random.nextInt(9) - 4;
				int r = Math.max(0, Math.min(255, ((rgb >> 16) & 0xFF) + n));
				int gr = Math.max(0, Math.min(255, ((rgb >> 8) & 0xFF) + n));
				int b = Math.max(0, Math.min(255, (rgb & 0xFF) + n));
				image.setRGB(x, y, (r << 16) | (gr << 8) | b);
			}
		}
		return image;
	}

	static byte[] bytes(BufferedImage image, String format) throws IOException {
		BufferedImage source = image;
		if (format.equals("wbmp")) {
			source = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_BYTE_BINARY);
			source.getGraphics().drawImage(image, 0, 0, null);
		}
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		assertThat(ImageIO.write(source, format, out)).as(format).isTrue();
		return out.toByteArray();
	}

	private static InputStream stream(BufferedImage image, String format) throws IOException {
		return new ByteArrayInputStream(bytes(image, format));
	}

	private static int[] pixels(BufferedImage image) {
		return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
	}

}
