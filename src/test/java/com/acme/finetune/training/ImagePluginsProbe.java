package com.acme.finetune.training;

import java.awt.image.BufferedImage;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;

/**
 * Run by {@link ImagePluginsTests} in a JVM whose class path holds nothing but the test
 * classes: loads {@link Preprocessing} and the image plugins through a class loader of
 * their own, as the packaged service's nested jars are, and decodes an image on a thread
 * whose context class loader cannot see them, as a parallel stream's workers do.
 * Arguments: the image, then the application's class path entries.
 */
public final class ImagePluginsProbe {

	private ImagePluginsProbe() {
	}

	public static void main(String[] args) throws Exception {
		URL[] urls = new URL[args.length - 1];
		for (int i = 1; i < args.length; i++) {
			urls[i - 1] = Path.of(args[i]).toUri().toURL();
		}
		try (URLClassLoader application = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
			Thread.currentThread().setContextClassLoader(ClassLoader.getSystemClassLoader());
			Class<?> preprocessing = application.loadClass("com.acme.finetune.training.Preprocessing");
			try {
				BufferedImage image = (BufferedImage) preprocessing.getMethod("read", Path.class)
					.invoke(null, Path.of(args[0]));
				System.out.println("decoded " + image.getWidth() + "x" + image.getHeight());
			}
			catch (InvocationTargetException ex) {
				System.out.println("failed " + ex.getCause());
				System.exit(2);
			}
		}
	}

}
