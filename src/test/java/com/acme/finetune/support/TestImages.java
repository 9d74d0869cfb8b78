package com.acme.finetune.support;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

/**
 * Generated images and ImageFolder archives for tests: small, learnable, deterministic.
 */
public final class TestImages {

	private TestImages() {
	}

	/** A noisy image dominated by one colour, so a classifier can learn it quickly. */
	public static byte[] png(Color colour, int size, long seed) {
		Random random = new Random(seed);
		BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < size; y++) {
			for (int x = 0; x < size; x++) {
				int r = clamp(colour.getRed() + random.nextInt(61) - 30);
				int g = clamp(colour.getGreen() + random.nextInt(61) - 30);
				int b = clamp(colour.getBlue() + random.nextInt(61) - 30);
				image.setRGB(x, y, (r << 16) | (g << 8) | b);
			}
		}
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try {
			ImageIO.write(image, "png", out);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return out.toByteArray();
	}

	/**
	 * A zip in {@code <class>/<image>} layout with {@code perClass} images of each
	 * colour.
	 */
	public static byte[] colourDataset(int perClass, int size, Map<String, Color> classes) {
		Map<String, byte[]> entries = new LinkedHashMap<>();
		long seed = 1;
		for (Map.Entry<String, Color> c : classes.entrySet()) {
			for (int i = 0; i < perClass; i++) {
				entries.put(c.getKey() + "/img" + i + ".png", png(c.getValue(), size, seed++));
			}
		}
		return zip(entries);
	}

	public static byte[] redBlueDataset(int perClass, int size) {
		Map<String, Color> classes = new LinkedHashMap<>();
		classes.put("blue", new Color(40, 60, 200));
		classes.put("red", new Color(200, 50, 40));
		return colourDataset(perClass, size, classes);
	}

	public static byte[] zip(Map<String, byte[]> entries) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try (ZipOutputStream zip = new ZipOutputStream(out)) {
			for (Map.Entry<String, byte[]> e : entries.entrySet()) {
				zip.putNextEntry(new ZipEntry(e.getKey()));
				zip.write(e.getValue());
				zip.closeEntry();
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return out.toByteArray();
	}

	private static int clamp(int value) {
		return Math.max(0, Math.min(255, value));
	}

}
