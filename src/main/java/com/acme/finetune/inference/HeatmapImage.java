package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import javax.imageio.ImageIO;

/**
 * Draws a Grad-CAM heat map over the image the network saw: the map (last-stage
 * resolution) is upsampled bilinearly to the image, coloured blue (0) → green → red (1),
 * and blended over the image with half opacity, as Grad-CAM figures usually are.
 */
final class HeatmapImage {

	/** Share of the heat map's colour in each pixel. */
	static final double OPACITY = 0.5;

	private HeatmapImage() {
	}

	/** The overlay as PNG bytes. */
	static byte[] png(BufferedImage image, float[][] heatmap) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try {
			ImageIO.write(overlay(image, heatmap), "png", out);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return out.toByteArray();
	}

	static BufferedImage overlay(BufferedImage image, float[][] heatmap) {
		int width = image.getWidth();
		int height = image.getHeight();
		int rows = heatmap.length;
		int columns = heatmap[0].length;
		BufferedImage result = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
		for (int y = 0; y < height; y++) {
			for (int x = 0; x < width; x++) {
				double v = sample(heatmap, rows, columns, (x + 0.5) * columns / width - 0.5,
						(y + 0.5) * rows / height - 0.5);
				int[] colour = colour(v);
				int rgb = image.getRGB(x, y);
				int r = blend((rgb >> 16) & 0xFF, colour[0]);
				int g = blend((rgb >> 8) & 0xFF, colour[1]);
				int b = blend(rgb & 0xFF, colour[2]);
				result.setRGB(x, y, (r << 16) | (g << 8) | b);
			}
		}
		return result;
	}

	/** Bilinear interpolation between cell centres, clamped at the borders. */
	private static double sample(float[][] map, int rows, int columns, double fx, double fy) {
		double cx = Math.max(0, Math.min(columns - 1, fx));
		double cy = Math.max(0, Math.min(rows - 1, fy));
		int x0 = (int) Math.floor(cx);
		int y0 = (int) Math.floor(cy);
		int x1 = Math.min(columns - 1, x0 + 1);
		int y1 = Math.min(rows - 1, y0 + 1);
		double tx = cx - x0;
		double ty = cy - y0;
		double top = map[y0][x0] * (1 - tx) + map[y0][x1] * tx;
		double bottom = map[y1][x0] * (1 - tx) + map[y1][x1] * tx;
		return top * (1 - ty) + bottom * ty;
	}

	/** A jet-like colour map: blue, cyan, green, yellow, red. */
	static int[] colour(double value) {
		double v = Math.max(0, Math.min(1, value));
		double r = clamp(1.5 - Math.abs(4 * v - 3));
		double g = clamp(1.5 - Math.abs(4 * v - 2));
		double b = clamp(1.5 - Math.abs(4 * v - 1));
		return new int[] { (int) Math.round(255 * r), (int) Math.round(255 * g), (int) Math.round(255 * b) };
	}

	private static double clamp(double v) {
		return Math.max(0, Math.min(1, v));
	}

	private static int blend(int base, int colour) {
		return (int) Math.round((1 - OPACITY) * base + OPACITY * colour);
	}

}
