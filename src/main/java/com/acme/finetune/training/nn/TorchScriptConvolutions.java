package com.acme.finetune.training.nn;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Rewrites the strided, unpadded convolutions of a TorchScript file so that, when their
 * kernel is 1x1 (a ResNet's downsampling shortcut), they take every {@code stride}-th
 * pixel first and then run with unit stride: the same values, computed by other oneDNN
 * kernels.
 *
 * <p>
 * Why: the same oneDNN fault {@link PointwiseConv2d} avoids for the built-in ResNet-50.
 * The input gradient of a strided 1x1 convolution goes through oneDNN 3.7's brgemm
 * kernels, which kill the process with SIGFPE on some CPUs, so fine-tuning the
 * layer3/layer4 of a TorchScript ResNet-50 (uploaded, or {@code resnet50-imagenet})
 * crashed there. TorchScript code spells every convolution out with its constants: traces
 * as {@code torch._convolution(x, weight, bias, [s, s], [0, 0], [1, 1], False, ...)},
 * scripted modules as {@code torch.conv2d(x, weight, bias, [s, s], [0, 0], [1, 1])}. The
 * kernel size is a property of the weight, so the rewrite tests it at run time and leaves
 * every other convolution as it was.
 */
public final class TorchScriptConvolutions {

	/**
	 * Groups: call, input, weight, bias, stride h, stride w, the rest of the arguments.
	 */
	private static final Pattern STRIDED_UNPADDED = Pattern
		.compile("(torch\\._convolution|torch\\.conv2d)\\((\\w+), (\\w+), (\\w+), "
				+ "\\[(\\d+), (\\d+)\\], (\\[0, 0\\], \\[1, 1\\](?:, False, \\[0, 0\\], 1, |\\)|, 1\\)))");

	private TorchScriptConvolutions() {
	}

	/**
	 * A rewritten copy of {@code file} in the temporary directory (the caller deletes
	 * it), or {@code null} when the file has no strided unpadded convolution.
	 */
	public static Path unitStrideCopy(Path file) throws IOException {
		Map<String, byte[]> edited = new HashMap<>();
		Path target = Files.createTempFile("unit-stride-", ".pt");
		boolean done = false;
		// ZipFile, not ZipInputStream: PyTorch writes stored entries with data
		// descriptors
		try (ZipFile in = new ZipFile(file.toFile());
				ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(target))) {
			List<ZipEntry> entries = new ArrayList<>();
			Enumeration<? extends ZipEntry> all = in.entries();
			while (all.hasMoreElements()) {
				ZipEntry entry = all.nextElement();
				entries.add(entry);
				if (isCode(entry.getName())) {
					String code = read(in, entry);
					String rewritten = rewrite(code);
					if (!rewritten.equals(code)) {
						edited.put(entry.getName(), rewritten.getBytes(StandardCharsets.UTF_8));
					}
				}
			}
			if (edited.isEmpty()) {
				return null;
			}
			for (ZipEntry entry : entries) {
				String name = entry.getName();
				// debug info maps source ranges of the old text
				if (name.endsWith(".debug_pkl") && edited.containsKey(name.substring(0, name.length() - 10))) {
					continue;
				}
				byte[] data = edited.get(name);
				if (data == null) {
					try (InputStream stream = in.getInputStream(entry)) {
						data = stream.readAllBytes();
					}
				}
				writeStored(out, name, data);
			}
			done = true;
			return target;
		}
		finally {
			if (!done) {
				Files.deleteIfExists(target);
			}
		}
	}

	/** The TorchScript source with every strided unpadded convolution rewritten. */
	public static String rewrite(String code) {
		Matcher m = STRIDED_UNPADDED.matcher(code);
		StringBuilder out = new StringBuilder();
		while (m.find()) {
			String x = m.group(2);
			String weight = m.group(3);
			String stride = "[" + m.group(5) + ", " + m.group(6) + "]";
			if ("[1, 1]".equals(stride)) {
				m.appendReplacement(out, Matcher.quoteReplacement(m.group()));
				continue;
			}
			String pointwise = weight + ".size(2) == 1 and " + weight + ".size(3) == 1";
			String replacement = m.group(1) + "(torch.avg_pool2d(" + x + ", [1, 1], " + stride + ") if " + pointwise
					+ " else " + x + ", " + weight + ", " + m.group(4) + ", [1, 1] if " + pointwise + " else " + stride
					+ ", " + m.group(7);
			m.appendReplacement(out, Matcher.quoteReplacement(replacement));
		}
		m.appendTail(out);
		return out.toString();
	}

	private static boolean isCode(String name) {
		return name.contains("/code/") && name.endsWith(".py");
	}

	private static String read(ZipFile zip, ZipEntry entry) throws IOException {
		try (InputStream stream = zip.getInputStream(entry)) {
			return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
		}
	}

	/** A stored (uncompressed) entry, as PyTorch writes them. */
	public static void writeStored(ZipOutputStream out, String name, byte[] data) throws IOException {
		ZipEntry entry = new ZipEntry(name);
		entry.setMethod(ZipEntry.STORED);
		entry.setSize(data.length);
		entry.setCompressedSize(data.length);
		CRC32 crc = new CRC32();
		crc.update(data);
		entry.setCrc(crc.getValue());
		out.putNextEntry(entry);
		out.write(data);
		out.closeEntry();
	}

}
