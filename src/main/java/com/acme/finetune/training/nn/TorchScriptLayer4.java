package com.acme.finetune.training.nn;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import com.acme.finetune.training.ImagenetBackbone;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.TorchScriptPolicy;

/**
 * Exposes the output of a TorchScript ResNet's {@code layer4} as an extra method,
 * {@value #METHOD}, by the same kind of source edit that turns the ImageNet ResNet-50
 * into an embedding ({@link ImagenetBackbone#stripClassifier}): DJL cannot call a
 * submodule of a TorchScript module, but it can run any method of the top-level one.
 *
 * <p>
 * The method that calls {@code layer4} (a trace's {@code forward}, a scripted torchvision
 * ResNet's {@code _forward_impl}) is copied under the new name and cut after that call:
 * its statements up to the one that calls {@code (layer4).forward(…)} (or
 * {@code (self.layer4).forward(…)}) stay, then the copy returns that call's value. The
 * original methods are unchanged, and the copy calls only what the file already calls, so
 * it passes {@link TorchScriptPolicy} as the original did. Whether the result really is
 * what the backbone pools into its features is for the caller to check numerically.
 */
public final class TorchScriptLayer4 {

	/** The name of the added method. */
	public static final String METHOD = "finetune_layer4";

	private static final Pattern CLASS = Pattern.compile("(?m)^class \\w+\\(Module\\):\\s*$");

	private static final Pattern METHOD_DEF = Pattern.compile("(?m)^  def (\\w+)\\(");

	private static final Pattern LAYER4_CALL = Pattern.compile("\\((?:self\\.)?layer4\\)\\.forward\\(");

	private TorchScriptLayer4() {
	}

	/**
	 * A copy of {@code file} in the temporary directory with {@value #METHOD} added (the
	 * caller deletes it).
	 * @throws InvalidBackboneException when no method of the file calls {@code layer4}
	 */
	public static Path exposedCopy(Path file) throws IOException {
		String editedName = null;
		String editedCode = null;
		try (ZipFile in = new ZipFile(file.toFile())) {
			Enumeration<? extends ZipEntry> all = in.entries();
			while (all.hasMoreElements() && editedName == null) {
				ZipEntry entry = all.nextElement();
				if (entry.getName().contains("/code/") && entry.getName().endsWith(".py")
						&& entry.getSize() <= TorchScriptPolicy.MAX_FILE_BYTES) {
					String code;
					try (InputStream stream = in.getInputStream(entry)) {
						code = new String(stream.readAllBytes(), StandardCharsets.UTF_8);
					}
					String edited = addMethod(code);
					if (edited != null) {
						editedName = entry.getName();
						editedCode = edited;
					}
				}
			}
		}
		if (editedName == null) {
			throw new InvalidBackboneException("The backbone has no method that calls a 'layer4' stage, so there is "
					+ "no last-stage activation to explain (Grad-CAM needs a torchvision-style ResNet)", null);
		}
		Path target = Files.createTempFile("layer4-", ".pt");
		boolean done = false;
		try (ZipFile in = new ZipFile(file.toFile());
				ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(target))) {
			Enumeration<? extends ZipEntry> entries = in.entries();
			while (entries.hasMoreElements()) {
				ZipEntry entry = entries.nextElement();
				String name = entry.getName();
				// debug info maps source ranges of the old text
				if (name.equals(editedName + ".debug_pkl")) {
					continue;
				}
				byte[] data;
				if (name.equals(editedName)) {
					data = editedCode.getBytes(StandardCharsets.UTF_8);
				}
				else {
					try (InputStream stream = in.getInputStream(entry)) {
						data = stream.readAllBytes();
					}
				}
				TorchScriptConvolutions.writeStored(out, name, data);
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

	/**
	 * The source with {@value #METHOD} added to the class whose method calls
	 * {@code layer4}, or null when no class in it does.
	 */
	public static String addMethod(String code) {
		List<int[]> classes = spans(CLASS, code, 0, code.length());
		for (int[] cls : classes) {
			for (int[] method : spans(METHOD_DEF, code, cls[0], cls[1])) {
				String text = code.substring(method[0], method[1]);
				String copy = cutAfterLayer4(text);
				if (copy != null) {
					String separator = text.endsWith("\n") ? "" : "\n";
					return code.substring(0, method[1]) + separator + copy + code.substring(method[1]);
				}
			}
		}
		return null;
	}

	/** The method renamed and returning the value of its {@code layer4} call. */
	private static String cutAfterLayer4(String method) {
		Matcher call = LAYER4_CALL.matcher(method);
		if (!call.find()) {
			return null;
		}
		int end = closingParenthesis(method, call.end() - 1);
		if (end < 0) {
			return null;
		}
		String expression = method.substring(call.start(), end + 1);
		int lineStart = method.lastIndexOf('\n', call.start()) + 1;
		Matcher def = METHOD_DEF.matcher(method);
		if (!def.lookingAt()) {
			return null;
		}
		String head = "  def " + METHOD + method.substring(def.end(1), lineStart);
		String body = "    _finetune_layer4 = " + expression + "\n    return _finetune_layer4\n";
		return head + body;
	}

	/**
	 * The index of the parenthesis closing the one at {@code open}, or -1. TorchScript
	 * source prints no strings or comments inside a call to a submodule's forward.
	 */
	private static int closingParenthesis(String text, int open) {
		int depth = 0;
		for (int i = open; i < text.length(); i++) {
			char c = text.charAt(i);
			if (c == '(') {
				depth++;
			}
			else if (c == ')' && --depth == 0) {
				return i;
			}
			else if (c == '"' || c == '\'' || c == '#') {
				return -1;
			}
		}
		return -1;
	}

	/**
	 * The regions that start at each match of {@code start} within [from, to), each up to
	 * the next match or {@code to}.
	 */
	private static List<int[]> spans(Pattern start, String code, int from, int to) {
		List<int[]> spans = new ArrayList<>();
		Matcher m = start.matcher(code).region(from, to);
		int previous = -1;
		while (m.find()) {
			if (previous >= 0) {
				spans.add(new int[] { previous, m.start() });
			}
			previous = m.start();
		}
		if (previous >= 0) {
			spans.add(new int[] { previous, to });
		}
		return spans;
	}

}
