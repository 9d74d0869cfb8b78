package com.acme.finetune.training;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;

import com.acme.finetune.training.nn.TorchScriptConvolutions;

/**
 * The {@code resnet50-imagenet} backbone: torchvision's ImageNet ResNet-50 as the DJL
 * PyTorch model zoo ships it ({@code djl://ai.djl.pytorch/resnet}, artifact
 * {@code traced_resnet50}, an eval-mode trace with the 1000-way {@code fc}), turned into
 * an exact 2048-d embedding by editing the TorchScript source in the file: the ResNet's
 * forward returns the flattened pool output instead of {@code fc(...)}.
 *
 * <p>
 * Everything is kept in a caller-given directory (the model store), so after the first
 * download restarts need no network; an operator can also drop the zoo file there.
 */
public final class ImagenetBackbone {

	/** The model-zoo location of the original file. */
	public static final String ZOO_URL = "djl://ai.djl.pytorch/resnet/0.0.1/traced_resnet50";

	/** Where the zoo serves the file, for operators who fetch it by hand. */
	public static final String DOWNLOAD_URL = "https://mlrepo.djl.ai/model/cv/image_classification/ai/djl/pytorch/resnet/0.0.1/traced_resnet50.pt.gz";

	/** The zoo's file as provided (also accepted gzipped, {@code .pt.gz}). */
	public static final String ORIGINAL_FILE = "traced_resnet50.pt";

	/** The derived embedding module the trainer loads. */
	public static final String EMBEDDING_FILE = "resnet50-imagenet-embedding.pt";

	private static final Pattern RETURN_FC = Pattern.compile("return \\(fc\\)\\.forward\\((\\w+), \\)");

	private ImagenetBackbone() {
	}

	/** Whether {@link #prepare(Path)} can succeed without network access. */
	public static boolean isAvailable(Path dir) {
		return Files.isRegularFile(dir.resolve(EMBEDDING_FILE)) || Files.isRegularFile(dir.resolve(ORIGINAL_FILE))
				|| Files.isRegularFile(dir.resolve(ORIGINAL_FILE + ".gz"));
	}

	/**
	 * The embedding module in {@code dir}, derived from the zoo file there or, failing
	 * that, downloaded through the DJL model zoo (where the network allows).
	 * @throws BackboneUnavailableException when neither works, saying how to provide it
	 */
	public static synchronized Path prepare(Path dir) {
		Path embedding = dir.resolve(EMBEDDING_FILE);
		if (Files.isRegularFile(embedding)) {
			return embedding;
		}
		try {
			Files.createDirectories(dir);
			Path original = dir.resolve(ORIGINAL_FILE);
			Path gz = dir.resolve(ORIGINAL_FILE + ".gz");
			if (!Files.isRegularFile(original) && Files.isRegularFile(gz)) {
				try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
					copyAtomically(in, original);
				}
			}
			if (!Files.isRegularFile(original)) {
				download(original);
			}
		}
		catch (IOException ex) {
			throw unavailable(dir, ex);
		}
		try {
			Path tmp = Files.createTempFile(dir, "embedding", ".tmp");
			try {
				stripClassifier(dir.resolve(ORIGINAL_FILE), tmp);
				Files.move(tmp, embedding, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
			}
			finally {
				Files.deleteIfExists(tmp);
			}
			return embedding;
		}
		catch (IOException ex) {
			throw new InvalidBackboneException("Cannot derive the ImageNet embedding from " + ORIGINAL_FILE + " in "
					+ dir.toAbsolutePath() + ": " + ex.getMessage(), ex);
		}
	}

	private static void download(Path target) throws IOException {
		Criteria<NDList, NDList> criteria = Criteria.builder()
			.setTypes(NDList.class, NDList.class)
			.optModelUrls(ZOO_URL)
			.optEngine("PyTorch")
			.optTranslator(new NoopTranslator())
			.build();
		try (ZooModel<NDList, NDList> model = criteria.loadModel()) {
			Path dir = model.getModelPath();
			Path file = Files.isRegularFile(dir) ? dir : null;
			if (file == null) {
				try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.pt")) {
					for (Path candidate : files) {
						file = candidate;
					}
				}
			}
			if (file == null) {
				throw new IOException("The model zoo returned no .pt file for " + ZOO_URL);
			}
			try (InputStream in = Files.newInputStream(file)) {
				copyAtomically(in, target);
			}
		}
		catch (IOException ex) {
			throw ex;
		}
		catch (Exception ex) {
			// offline mode, no route, unknown artifact: all mean "not obtainable here"
			throw new IOException(ex.getMessage(), ex);
		}
	}

	private static void copyAtomically(InputStream in, Path target) throws IOException {
		Path tmp = Files.createTempFile(target.getParent(), "download", ".tmp");
		try {
			Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
			Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		}
		finally {
			Files.deleteIfExists(tmp);
		}
	}

	static BackboneUnavailableException unavailable(Path dir, Exception cause) {
		return new BackboneUnavailableException("The resnet50-imagenet weights are not on this node and could not be "
				+ "fetched from the DJL model zoo (" + ZOO_URL + "): " + cause.getMessage() + ". Allow network access "
				+ "once, or download " + DOWNLOAD_URL + " and place it (gzipped or not, as " + ORIGINAL_FILE
				+ ") in the backbone store directory " + dir.toAbsolutePath()
				+ ", or use resnet50-scratch, which needs no download.", cause);
	}

	/**
	 * Copies a traced torchvision ResNet TorchScript file, making the ResNet's forward
	 * return its input to {@code fc} (the pooled, flattened features). Every other entry
	 * is copied unchanged (stored, like PyTorch writes them); the edited file's debug
	 * info is dropped because it maps source ranges that no longer exist.
	 */
	static void stripClassifier(Path source, Path target) throws IOException {
		boolean edited = false;
		// ZipFile, not ZipInputStream: PyTorch writes stored entries with data
		// descriptors,
		// which only the central directory describes
		try (ZipFile in = new ZipFile(source.toFile());
				ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(target))) {
			Enumeration<? extends ZipEntry> entries = in.entries();
			while (entries.hasMoreElements()) {
				ZipEntry entry = entries.nextElement();
				String name = entry.getName();
				if (name.endsWith("code/__torch__/torchvision/models/resnet.py.debug_pkl")) {
					continue;
				}
				byte[] data;
				try (InputStream stream = in.getInputStream(entry)) {
					data = stream.readAllBytes();
				}
				if (name.endsWith("code/__torch__/torchvision/models/resnet.py")) {
					String code = new String(data, StandardCharsets.UTF_8);
					Matcher m = RETURN_FC.matcher(code);
					if (!m.find()) {
						throw new IOException(
								"Unexpected TorchScript source: no 'return (fc).forward(...)' in " + name);
					}
					data = m.replaceFirst("return $1").getBytes(StandardCharsets.UTF_8);
					edited = true;
				}
				TorchScriptConvolutions.writeStored(out, name, data);
			}
		}
		if (!edited) {
			throw new IOException("Not a traced torchvision ResNet: no code/__torch__/torchvision/models/resnet.py");
		}
	}

}
