package com.acme.finetune.dataset.intake;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Recognises archives by their leading bytes, never by name: the zip, gzip and tar an
 * upload may be, and the archive and compression formats a nested file is refused as.
 */
final class ArchiveFormats {

	private ArchiveFormats() {
	}

	static boolean isZip(byte[] head) {
		return head.length >= 4 && head[0] == 'P' && head[1] == 'K'
				&& ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6) || (head[2] == 7 && head[3] == 8));
	}

	static boolean isGzip(byte[] head) {
		return head.length >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
	}

	static boolean isTar(byte[] head) {
		if (head.length >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a'
				&& head[261] == 'r') {
			return true;
		}
		// an empty tar is nothing but zero blocks
		if (head.length == 512) {
			for (byte b : head) {
				if (b != 0) {
					return false;
				}
			}
			return true;
		}
		return false;
	}

	/** The kind of archive or compressed stream these leading bytes start, or null. */
	static String archiveKind(byte[] head) {
		if (isZip(head)) {
			return "zip";
		}
		if (isGzip(head)) {
			return "gzip";
		}
		if (head.length >= 262 && isTar(head)) {
			return "tar";
		}
		if (startsWith(head, 'B', 'Z', 'h')) {
			return "bzip2";
		}
		if (startsWith(head, 0xfd, '7', 'z', 'X', 'Z', 0)) {
			return "xz";
		}
		if (startsWith(head, '7', 'z', 0xbc, 0xaf, 0x27, 0x1c)) {
			return "7z";
		}
		if (startsWith(head, 'R', 'a', 'r', '!')) {
			return "rar";
		}
		return null;
	}

	private static boolean startsWith(byte[] head, int... magic) {
		if (head.length < magic.length) {
			return false;
		}
		for (int i = 0; i < magic.length; i++) {
			if ((head[i] & 0xff) != magic[i]) {
				return false;
			}
		}
		return true;
	}

	static byte[] readHead(Path file, int max) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			return in.readNBytes(max);
		}
	}

}
