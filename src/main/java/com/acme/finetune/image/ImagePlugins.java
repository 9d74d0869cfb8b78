package com.acme.finetune.image;

import javax.imageio.ImageIO;

/**
 * Makes sure ImageIO knows the image readers this application ships (WebP; the JPEG
 * reader that decodes CMYK), whichever thread decodes first. ImageIO looks for plugins
 * with the context class loader of the thread that first uses it; in the packaged service
 * they sit in nested jars that only the application's class loader sees, so a first
 * decode on a pool thread (a parallel stream's workers carry the system class loader)
 * would leave them out for the life of the process, and WebP images would fail at random
 * in training. Every class that decodes images calls {@link #register()}.
 */
public final class ImagePlugins {

	static {
		Thread thread = Thread.currentThread();
		ClassLoader previous = thread.getContextClassLoader();
		thread.setContextClassLoader(ImagePlugins.class.getClassLoader());
		try {
			ImageIO.scanForPlugins();
		}
		finally {
			thread.setContextClassLoader(previous);
		}
	}

	private ImagePlugins() {
	}

	/** Registers the plugins on the application's class path (once per process). */
	public static void register() {
		// the work is done by the class initialiser, which the JVM runs exactly once
	}

}
