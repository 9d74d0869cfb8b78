package com.acme.finetune.dataset.intake;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.zip.Zip64Mode;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** The central directory scan finds unix file types in every zip flavour it meets. */
class ZipCentralDirectoryTests {

	@TempDir
	Path dir;

	@Test
	void findsLinksDevicesAndFifosWithCommentsAndZip64() throws IOException {
		for (Zip64Mode mode : List.of(Zip64Mode.Never, Zip64Mode.Always)) {
			Path zip = write(mode, "a comment that is not a record: PK\5\6");
			List<String> found = scan(zip, 100);
			assertThat(found).as(mode.toString())
				.containsExactly("cat/link.png symbolic link", "cat/tty character device", "dog/pipe FIFO (named pipe)",
						"dog/sock socket");
		}
	}

	@Test
	void moreRecordsThanTheEntryLimitAre413() throws IOException {
		Path zip = write(Zip64Mode.Never, null);
		assertThatExceptionOfType(ApiException.class).isThrownBy(() -> scan(zip, 5))
			.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.ARCHIVE_TOO_LARGE));
	}

	@Test
	void aZipWithoutItsEndOrWithATruncatedDirectoryIsCorrupt() throws IOException {
		byte[] zip = Files.readAllBytes(write(Zip64Mode.Never, null));
		Path cut = this.dir.resolve("cut.zip");
		Files.write(cut, Arrays.copyOf(zip, zip.length - 30));
		assertThatExceptionOfType(ApiException.class).isThrownBy(() -> scan(cut, 100))
			.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.CORRUPT_ARCHIVE));
		// no directory record where the end record says (nor right before it)
		byte[] moved = zip.clone();
		int offset = java.nio.ByteBuffer.wrap(zip, zip.length - 6, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
		moved[offset] ^= 1;
		Path wrong = this.dir.resolve("wrong.zip");
		Files.write(wrong, moved);
		assertThatExceptionOfType(ApiException.class).isThrownBy(() -> scan(wrong, 100))
			.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.CORRUPT_ARCHIVE));
	}

	private Path write(Zip64Mode mode, String comment) throws IOException {
		Path zip = this.dir.resolve(mode + ".zip");
		try (ZipArchiveOutputStream out = new ZipArchiveOutputStream(zip)) {
			out.setUseZip64(mode);
			if (comment != null) {
				out.setComment(comment);
			}
			put(out, "cat/", 040755, new byte[0]);
			put(out, "cat/a.png", 0100644, new byte[] { 1, 2, 3 });
			put(out, "cat/link.png", 0120777, "/etc/passwd".getBytes());
			put(out, "cat/tty", 020620, new byte[0]);
			put(out, "dog/pipe", 010644, new byte[0]);
			put(out, "dog/sock", 0140755, new byte[0]);
			put(out, "dog/dos.png", 0, new byte[] { 4 });
		}
		return zip;
	}

	private static void put(ZipArchiveOutputStream out, String name, int mode, byte[] content) throws IOException {
		ZipArchiveEntry entry = new ZipArchiveEntry(name);
		if (mode != 0) {
			entry.setUnixMode(mode);
		}
		out.putArchiveEntry(entry);
		out.write(content);
		out.closeArchiveEntry();
	}

	private static List<String> scan(Path zip, int maxEntries) throws IOException {
		List<String> found = new ArrayList<>();
		ZipCentralDirectory.scan(zip, maxEntries, (name, reason) -> found.add(name + " " + reason));
		return found;
	}

}
