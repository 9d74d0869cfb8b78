package com.acme.finetune.training;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import javax.imageio.ImageIO;

import com.acme.finetune.image.ImagePlugins;

/**
 * The evaluation transform shared by training and serving: resize the shorter side to
 * {@code resizeShorter} (torchvision's {@code Resize(int)}: the longer side is scaled and
 * truncated), centre crop {@code imageSize}, scale to [0, 1], normalise with
 * {@code mean}/{@code std} per RGB channel, CHW layout.
 *
 * @param imageSize the square input size
 * @param resizeShorter the shorter side before cropping ({@code imageSize·256/224})
 * @param mean per-channel mean (RGB)
 * @param std per-channel standard deviation (RGB)
 */
public record Preprocessing(int imageSize, int resizeShorter, float[] mean, float[] std) {

	static {
		ImagePlugins.register();
	}

	static final float[] IMAGENET_MEAN = { 0.485f, 0.456f, 0.406f };

	static final float[] IMAGENET_STD = { 0.229f, 0.224f, 0.225f };

	/** The classic ImageNet transform for {@code imageSize} (224 → resize 256). */
	public static Preprocessing imagenet(int imageSize) {
		return new Preprocessing(imageSize, (int) Math.round(imageSize * 256.0 / 224.0), IMAGENET_MEAN.clone(),
				IMAGENET_STD.clone());
	}

	/** Decodes an image file to RGB; fails with the file name if it is not an image. */
	public static BufferedImage read(Path file) throws IOException {
		BufferedImage image = ImageIO.read(file.toFile());
		if (image == null) {
			throw new IOException("Not a decodable image: " + file.getFileName());
		}
		return image;
	}

	/**
	 * The shorter side resized to {@link #resizeShorter()}, as packed RGB bytes (HWC).
	 */
	public RgbImage resize(BufferedImage image) {
		int w = image.getWidth();
		int h = image.getHeight();
		int tw;
		int th;
		if (w <= h) {
			tw = this.resizeShorter;
			th = (int) ((long) this.resizeShorter * h / w);
		}
		else {
			th = this.resizeShorter;
			tw = (int) ((long) this.resizeShorter * w / h);
		}
		BufferedImage current = image;
		// halve first: a single bilinear step aliases badly when shrinking more than 2x
		// (PIL's resize, which torchvision uses, antialiases)
		while (current.getWidth() >= 2 * tw && current.getHeight() >= 2 * th) {
			current = scale(current, current.getWidth() / 2, current.getHeight() / 2);
		}
		if (current.getWidth() != tw || current.getHeight() != th || current.getType() != BufferedImage.TYPE_INT_RGB) {
			current = scale(current, tw, th);
		}
		// an image scaled here is TYPE_INT_RGB, 0x00RRGGBB per pixel in one array: read
		// it directly (getRGB converts pixel by pixel through the colour model)
		int[] argb = (current != image) ? ((DataBufferInt) current.getRaster().getDataBuffer()).getData()
				: current.getRGB(0, 0, tw, th, null, 0, tw);
		byte[] rgb = new byte[tw * th * 3];
		for (int i = 0; i < argb.length; i++) {
			int p = argb[i];
			rgb[3 * i] = (byte) (p >> 16);
			rgb[3 * i + 1] = (byte) (p >> 8);
			rgb[3 * i + 2] = (byte) p;
		}
		return new RgbImage(rgb, tw, th);
	}

	private static BufferedImage scale(BufferedImage source, int w, int h) {
		BufferedImage target = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
		Graphics2D g = target.createGraphics();
		try {
			g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
			g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
			g.drawImage(source, 0, 0, w, h, null);
		}
		finally {
			g.dispose();
		}
		return target;
	}

	/** The centre {@code imageSize} square of a resized image. */
	public RgbImage centerCrop(RgbImage resized) {
		int x0 = (resized.width() - this.imageSize) / 2;
		int y0 = (resized.height() - this.imageSize) / 2;
		return crop(resized, x0, y0);
	}

	RgbImage crop(RgbImage image, int x0, int y0) {
		int s = this.imageSize;
		byte[] out = new byte[s * s * 3];
		for (int y = 0; y < s; y++) {
			System.arraycopy(image.rgb(), ((y0 + y) * image.width() + x0) * 3, out, y * s * 3, s * 3);
		}
		return new RgbImage(out, s, s);
	}

	/**
	 * The full evaluation transform of one image into {@code dst} (CHW) at offset; public
	 * so serving code can compare what two decodes of an image turn into.
	 */
	public void toTensor(BufferedImage image, float[] dst, int offset) {
		normalize(centerCrop(resize(image)), false, dst, offset);
	}

	/**
	 * Writes a {@code imageSize}-square RGB crop as normalised CHW floats, mirrored when
	 * {@code flip}.
	 */
	public void normalize(RgbImage crop, boolean flip, float[] dst, int offset) {
		int s = this.imageSize;
		int plane = s * s;
		byte[] rgb = crop.rgb();
		float[] scale = new float[3];
		float[] shift = new float[3];
		for (int c = 0; c < 3; c++) {
			scale[c] = 1f / (255f * this.std[c]);
			shift[c] = this.mean[c] / this.std[c];
		}
		for (int y = 0; y < s; y++) {
			for (int x = 0; x < s; x++) {
				int src = (y * s + (flip ? s - 1 - x : x)) * 3;
				int d = offset + y * s + x;
				for (int c = 0; c < 3; c++) {
					dst[d + c * plane] = (rgb[src + c] & 0xFF) * scale[c] - shift[c];
				}
			}
		}
	}

	/**
	 * Part of cache keys: two runs with equal fingerprints see identical input tensors.
	 */
	String fingerprint() {
		return "v1:" + this.imageSize + ":" + this.resizeShorter + ":" + Arrays.toString(this.mean) + ":"
				+ Arrays.toString(this.std);
	}

	@Override
	public boolean equals(Object other) {
		return other instanceof Preprocessing p && fingerprint().equals(p.fingerprint());
	}

	@Override
	public int hashCode() {
		return fingerprint().hashCode();
	}

	@Override
	public String toString() {
		return "Preprocessing[imageSize=" + this.imageSize + ", resizeShorter=" + this.resizeShorter + ", mean="
				+ Arrays.toString(this.mean) + ", std=" + Arrays.toString(this.std) + "]";
	}

	/** Packed RGB pixels, row-major. */
	public record RgbImage(byte[] rgb, int width, int height) {
	}

}
