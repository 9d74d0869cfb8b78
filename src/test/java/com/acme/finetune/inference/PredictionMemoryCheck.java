package com.acme.finetune.inference;

import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

/**
 * Decodes one image file {@code count} times and keeps every result, as a prediction
 * request holds its images until they are queued, so that {@link PredictionMemoryTests}
 * can run it in a JVM with a small heap. Mode {@code bounded} decodes as the service
 * does; {@code full} decodes whole images, as the service did before (the control: it
 * must not fit). Prints {@code images=<n> bytes=<decoded bytes> heapMax=<bytes>} on
 * success.
 */
public final class PredictionMemoryCheck {

	private PredictionMemoryCheck() {
	}

	public static void main(String[] args) throws Exception {
		Path file = Path.of(args[0]);
		int count = Integer.parseInt(args[1]);
		int resizeTarget = Integer.parseInt(args[2]);
		boolean bounded = args[3].equals("bounded");
		ImageDecoder decoder = new ImageDecoder(40_000_000);
		List<BufferedImage> images = new ArrayList<>();
		long bytes = 0;
		for (int i = 0; i < count; i++) {
			try (InputStream in = Files.newInputStream(file)) {
				BufferedImage image = bounded ? decoder.decode("big.jpg", in, resizeTarget) : ImageIO.read(in);
				images.add(image);
				bytes += ImageDecoder.bytes(image);
			}
		}
		System.out
			.println("images=" + images.size() + " bytes=" + bytes + " heapMax=" + Runtime.getRuntime().maxMemory());
	}

}
