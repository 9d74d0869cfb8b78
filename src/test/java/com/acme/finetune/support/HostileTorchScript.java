package com.acme.finetune.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.springframework.core.io.ClassPathResource;

/**
 * Hostile TorchScript files, made in the test by editing the TorchScript source of the
 * small valid fixture {@code tiny-backbone-partial.pt} (an eval-mode trace mapping images
 * to 16-d features): libtorch compiles whatever source the archive holds, so each of
 * these loads and runs as written unless something refuses it first.
 */
public final class HostileTorchScript {

	/** The fixture every file here is derived from. */
	public static final String VALID = "fixtures/tiny-backbone-partial.pt";

	private static final String TOP = "tiny-backbone-partial/code/__torch__.py";

	private static final String FORWARD_HEADER = "    x: Tensor) -> Tensor:\n";

	private HostileTorchScript() {
	}

	/** The valid fixture, unchanged. */
	public static byte[] valid() throws IOException {
		return new ClassPathResource(VALID).getContentAsByteArray();
	}

	/**
	 * Reads 4 bytes of {@code secret} as a float ({@code torch.from_file}) and writes
	 * them to {@code stolen} ({@code torch.save}) at the start of {@code forward}, then
	 * computes the features as before.
	 */
	public static byte[] readsAndWritesFiles(String secret, String stolen) throws IOException {
		return withForwardPrologue("    _leak = torch.from_file(" + quote(secret) + ", False, 1, dtype=6)\n"
				+ "    _0 = torch.save(_leak, " + quote(stolen) + ")\n"
				+ "    x = torch.add(x, torch.mul(torch.sum(_leak), 0.))\n");
	}

	/** A {@code forward} that never returns: {@code while True} counting up. */
	public static byte[] endlessLoop() throws IOException {
		return withForwardPrologue("    _i = 0\n    while True:\n      _i = torch.add(_i, 1)\n"
				+ "    x = torch.add(x, torch.mul(_i, 0))\n");
	}

	/**
	 * Source that makes libtorch's compiler overflow its native stack while loading the
	 * file: an expression of {@code terms} additions, which it emits recursively. Nothing
	 * in it is outside the operator allow-list; the process that loads it dies with a
	 * SIGSEGV.
	 */
	public static byte[] crashesTheCompiler(int terms) throws IOException {
		StringBuilder sum = new StringBuilder("    _deep = 0");
		sum.append(" + 1".repeat(terms)).append('\n');
		return withForwardPrologue(sum + "    x = torch.add(x, torch.mul(_deep, 0))\n");
	}

	/**
	 * Statements inserted at the start of the fixture's {@code forward} (4 spaces in).
	 */
	public static byte[] withForwardPrologue(String statements) throws IOException {
		return editTopLevelSource((code) -> {
			if (!code.contains(FORWARD_HEADER)) {
				throw new IllegalStateException("Unexpected fixture source:\n" + code);
			}
			return code.replace(FORWARD_HEADER, FORWARD_HEADER + statements);
		});
	}

	/** Another class body for the fixture's module source (methods and attributes). */
	public static byte[] editTopLevelSource(UnaryOperator<String> edit) throws IOException {
		return edit(valid(), TOP, edit);
	}

	/**
	 * A copy of a TorchScript archive with one entry's text edited (and its debug info,
	 * which maps source ranges of the old text, dropped).
	 */
	public static byte[] edit(byte[] archive, String entryName, UnaryOperator<String> edit) throws IOException {
		boolean[] found = { false };
		byte[] copy = copy(archive, (name, data) -> {
			if (name.equals(entryName + ".debug_pkl")) {
				return null;
			}
			if (name.equals(entryName)) {
				found[0] = true;
				return edit.apply(new String(data, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
			}
			return data;
		}, null, null);
		if (!found[0]) {
			throw new IllegalArgumentException("No entry " + entryName);
		}
		return copy;
	}

	/** A copy of an archive with one more entry. */
	public static byte[] withEntry(byte[] archive, String entryName, byte[] content) throws IOException {
		return copy(archive, (name, data) -> data, entryName, content);
	}

	/**
	 * Copies every entry through {@code edit} (null drops it), stored like PyTorch writes
	 * them; read with {@link ZipFile}: PyTorch's stored entries have data descriptors,
	 * which {@code ZipInputStream} cannot read.
	 */
	private static byte[] copy(byte[] archive, BiFunction<String, byte[], byte[]> edit, String extraName, byte[] extra)
			throws IOException {
		Path file = Files.createTempFile("torchscript-", ".pt");
		try {
			Files.write(file, archive);
			ByteArrayOutputStream out = new ByteArrayOutputStream();
			try (ZipFile in = new ZipFile(file.toFile()); ZipOutputStream zip = new ZipOutputStream(out)) {
				for (ZipEntry entry : Collections.list(in.entries())) {
					byte[] data;
					try (InputStream stream = in.getInputStream(entry)) {
						data = edit.apply(entry.getName(), stream.readAllBytes());
					}
					if (data != null) {
						stored(zip, entry.getName(), data);
					}
				}
				if (extraName != null) {
					stored(zip, extraName, extra);
				}
			}
			return out.toByteArray();
		}
		finally {
			Files.deleteIfExists(file);
		}
	}

	private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
		ZipEntry entry = new ZipEntry(name);
		entry.setMethod(ZipEntry.STORED);
		entry.setSize(data.length);
		entry.setCompressedSize(data.length);
		CRC32 crc = new CRC32();
		crc.update(data);
		entry.setCrc(crc.getValue());
		zip.putNextEntry(entry);
		zip.write(data);
		zip.closeEntry();
	}

	private static String quote(String path) {
		return "\"" + path.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
	}

}
