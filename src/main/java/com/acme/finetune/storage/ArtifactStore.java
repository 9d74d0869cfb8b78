package com.acme.finetune.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.stream.Stream;

import org.springframework.stereotype.Component;

/**
 * The filesystem artifact store. Content-addressed blobs live under
 * {@code blobs/ab/cd/<sha256>} so identical files are stored once; named areas
 * ({@code models/}, {@code backbones/}, …) hold per-resource directories. Temporary files
 * are created under {@code tmp/} on the same filesystem so that finished files can be
 * moved into place atomically.
 */
@Component
public class ArtifactStore {

	private final Path root;

	private final Path tmp;

	public ArtifactStore(StorageProperties properties) {
		this.root = properties.root().toAbsolutePath().normalize();
		this.tmp = this.root.resolve("tmp");
		try {
			Files.createDirectories(this.tmp);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot create artifact root " + this.root, ex);
		}
	}

	public Path root() {
		return this.root;
	}

	/** The directory for temporary files, on the same filesystem as the artifacts. */
	public Path tempDir() {
		return this.tmp;
	}

	public Path createTempFile(String prefix, String suffix) throws IOException {
		return Files.createTempFile(this.tmp, prefix, suffix);
	}

	public Path createTempDirectory(String prefix) throws IOException {
		return Files.createTempDirectory(this.tmp, prefix);
	}

	/** The path of the blob with the given SHA-256 (hex), whether or not it exists. */
	public Path blobPath(String sha256) {
		if (sha256.length() != 64 || !sha256.chars().allMatch((c) -> Character.digit(c, 16) >= 0)) {
			throw new IllegalArgumentException("Not a SHA-256 hex digest: " + sha256);
		}
		return this.root.resolve("blobs")
			.resolve(sha256.substring(0, 2))
			.resolve(sha256.substring(2, 4))
			.resolve(sha256);
	}

	/**
	 * Moves a finished temporary file into the blob store under its digest. If the blob
	 * already exists the temporary file is deleted and the existing blob kept.
	 * @return whether a new blob was stored
	 */
	public boolean putBlob(Path tempFile, String sha256) throws IOException {
		Path target = blobPath(sha256);
		if (Files.exists(target)) {
			Files.deleteIfExists(tempFile);
			return false;
		}
		Files.createDirectories(target.getParent());
		try {
			Files.move(tempFile, target, StandardCopyOption.ATOMIC_MOVE);
			return true;
		}
		catch (FileAlreadyExistsException ex) {
			Files.deleteIfExists(tempFile);
			return false;
		}
		catch (AtomicMoveNotSupportedException ex) {
			Files.move(tempFile, target, StandardCopyOption.REPLACE_EXISTING);
			return true;
		}
	}

	public boolean deleteBlob(String sha256) throws IOException {
		return Files.deleteIfExists(blobPath(sha256));
	}

	/** A directory for one resource of a kind, e.g. {@code area("models", id)}. */
	public Path area(String kind, String name) {
		Path dir = this.root.resolve(kind).resolve(name).normalize();
		if (!dir.startsWith(this.root.resolve(kind))) {
			throw new IllegalArgumentException("Invalid artifact name: " + name);
		}
		return dir;
	}

	/** Deletes a file or a directory tree; missing paths are ignored. */
	public static void deleteRecursively(Path path) throws IOException {
		if (!Files.exists(path)) {
			return;
		}
		try (Stream<Path> walk = Files.walk(path)) {
			for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
				Files.deleteIfExists(p);
			}
		}
	}

	public static String hex(byte[] digest) {
		return HexFormat.of().formatHex(digest);
	}

}
