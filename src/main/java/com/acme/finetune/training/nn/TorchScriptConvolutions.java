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
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Rewrites the convolutions of a TorchScript file around two oneDNN 3.7 defects, keeping
 * what they compute.
 *
 * <p>
 * Strided 1x1 convolutions ({@link #rewrite}): when their kernel is 1x1 (a ResNet's
 * downsampling shortcut), they take every {@code stride}-th pixel first and then run with
 * unit stride. The same oneDNN fault {@link PointwiseConv2d} avoids for the built-in
 * ResNet-50: the input gradient of a strided 1x1 convolution goes through oneDNN 3.7's
 * brgemm kernels, which kill the process with SIGFPE on some CPUs, so fine-tuning the
 * layer3/layer4 of a TorchScript ResNet-50 (uploaded, or {@code resnet50-imagenet})
 * crashed there. Done for backbones that will be trained.
 *
 * <p>
 * Channel counts off oneDNN's 16-channel blocks ({@link #layoutGuard}): on CPUs that
 * report no cache sizes ({@link CpuLayout#CACHES_REPORTED}) oneDNN's blocked (NCHW input)
 * kernels for 3x3 and larger convolutions compute wrong outputs when the input channels
 * are not a multiple of 16 (24 or 40, as in MobileNets and EfficientNets; batches over
 * one) and wrong input gradients when the output channels are not; 0.2-0.5 relative
 * error, sometimes NaN, measured against a direct computation on a 2-core AMD EPYC VM. On
 * channels-last input the same convolutions run on other kernels and are right, so those
 * convolutions get channels-last input and every other one plain NCHW (oneDNN's
 * channels-last 1x1 kernels fault there). Done for every backbone loaded on such a CPU.
 *
 * <p>
 * TorchScript code spells every convolution out with its constants: traces as
 * {@code torch._convolution(x, weight, bias, [s, s], [0, 0], [1, 1], False, ...)},
 * scripted modules as {@code torch.conv2d(x, weight, bias, [s, s], [0, 0], [1, 1])}. The
 * kernel size and channel counts are properties of the weight, so the rewritten code
 * tests them at run time and leaves every other convolution as it was.
 */
public final class TorchScriptConvolutions {

	/**
	 * Groups: call, input, weight, bias, stride h, stride w, the rest of the arguments.
	 */
	private static final Pattern STRIDED_UNPADDED = Pattern
		.compile("(torch\\._convolution|torch\\.conv2d)\\((\\w+), (\\w+), (\\w+), "
				+ "\\[(\\d+), (\\d+)\\], (\\[0, 0\\], \\[1, 1\\](?:, False, \\[0, 0\\], 1, |\\)|, 1\\)))");

	/** The start of a convolution call, traced or scripted spelling. */
	private static final Pattern CONVOLUTION = Pattern.compile("(torch\\._convolution|torch\\.conv2d)\\(");

	/** An identifier after the input argument: the weight. */
	private static final Pattern WEIGHT = Pattern.compile("\\s*(\\w+),");

	private TorchScriptConvolutions() {
	}

	/**
	 * A rewritten copy of {@code file} in the temporary directory (the caller deletes
	 * it), or {@code null} when nothing needed rewriting.
	 * @param trainable whether the backbone will be trained ({@link #rewrite})
	 * @param guardLayouts whether to add {@link #layoutGuard}
	 */
	public static Path rewrittenCopy(Path file, boolean trainable, boolean guardLayouts) throws IOException {
		if (!trainable && !guardLayouts) {
			return null;
		}
		return copy(file, (code) -> {
			String rewritten = trainable ? rewrite(code) : code;
			return guardLayouts ? layoutGuard(rewritten) : rewritten;
		});
	}

	/**
	 * A rewritten copy of {@code file} in the temporary directory (the caller deletes
	 * it), or {@code null} when the file has no strided unpadded convolution.
	 */
	public static Path unitStrideCopy(Path file) throws IOException {
		return copy(file, TorchScriptConvolutions::rewrite);
	}

	private static Path copy(Path file, UnaryOperator<String> rewriter) throws IOException {
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
					String rewritten = rewriter.apply(code);
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

	/**
	 * The TorchScript source with every convolution's input in the layout whose oneDNN
	 * kernels compute it right on CPUs that report no cache sizes: channels-last for a
	 * 2-d convolution, not depthwise, with a kernel over 1x1 and output channels, or more
	 * than 4 input channels, off multiples of 16; contiguous NCHW for every other one.
	 */
	public static String layoutGuard(String code) {
		StringBuilder out = new StringBuilder();
		Matcher call = CONVOLUTION.matcher(code);
		int done = 0;
		while (call.find(done)) {
			int start = call.end();
			int end = firstArgumentEnd(code, start);
			Matcher weight = (end < 0) ? null : WEIGHT.matcher(code).region(end + 1, code.length());
			if (weight == null || !weight.lookingAt()) {
				out.append(code, done, start);
				done = start;
				continue;
			}
			String x = "(" + code.substring(start, end) + ")";
			String w = weight.group(1);
			String offBlocks = w + ".dim() == 4 and " + w + ".size(1) > 1 and " + w + ".size(2) > 1 and (" + w
					+ ".size(0) % 16 != 0 or (" + w + ".size(1) % 16 != 0 and " + w + ".size(1) > 4))";
			out.append(code, done, start)
				.append("torch.contiguous(")
				.append(x)
				.append(", memory_format=2) if ")
				.append(offBlocks)
				.append(" else torch.contiguous(")
				.append(x)
				.append(")");
			done = end;
		}
		out.append(code, done, code.length());
		return out.toString();
	}

	/** The index of the comma that ends the argument starting at {@code start}, or -1. */
	private static int firstArgumentEnd(String code, int start) {
		int depth = 0;
		for (int i = start; i < code.length(); i++) {
			char c = code.charAt(i);
			if (c == '(' || c == '[') {
				depth++;
			}
			else if (c == ')' || c == ']') {
				if (depth == 0) {
					return -1;
				}
				depth--;
			}
			else if (c == ',' && depth == 0) {
				return i;
			}
			else if (c == '\n') {
				return -1;
			}
		}
		return -1;
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
