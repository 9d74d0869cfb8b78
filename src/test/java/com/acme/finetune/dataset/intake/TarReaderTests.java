package com.acme.finetune.dataset.intake;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.acme.finetune.dataset.TestArchives;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The tar reader reads what real tar writers produce and refuses, before buffering them,
 * the headers that made commons-compress run out of heap or stack.
 */
class TarReaderTests {

	private static final String LONG_NAME = "classes/" + "a-rather-long-folder-name/".repeat(8) + "ünïcödé-image.png";

	@ParameterizedTest
	@ValueSource(ints = { TarArchiveOutputStream.LONGFILE_POSIX, TarArchiveOutputStream.LONGFILE_GNU })
	void readsWhatCommonsCompressWritesInPaxAndGnuFormats(int longFileMode) throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
			tar.setLongFileMode(longFileMode);
			tar.setAddPaxHeadersForNonAsciiNames(longFileMode == TarArchiveOutputStream.LONGFILE_POSIX);
			put(tar, new TarArchiveEntry("cat/"), null);
			put(tar, new TarArchiveEntry("cat/one.png"), "first".getBytes());
			put(tar, new TarArchiveEntry(LONG_NAME), "second, with a long name".getBytes());
			TarArchiveEntry link = new TarArchiveEntry("cat/link.png", TarConstants.LF_SYMLINK);
			link.setLinkName("../" + "x".repeat(150));
			put(tar, link, null);
			put(tar, new TarArchiveEntry("dog/empty.png"), new byte[0]);
		}
		List<String> read = readAll(bytes.toByteArray());
		assertThat(read).containsExactly("5 cat/ ", "0 cat/one.png first",
				"0 " + LONG_NAME + " second, with a long name", "2 cat/link.png ", "0 dog/empty.png ");
	}

	@Test
	void linkTargetsComeFromLongLinkAndPaxHeaders() throws IOException {
		String target = "../" + "y".repeat(200);
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		new TestArchives.RawTar(bytes).header("././@LongLink", 'K', target.length() + 1)
			.data((target + "\0").getBytes(StandardCharsets.UTF_8))
			.header("a", '2', 0)
			.pax("linkpath=/etc/passwd", "path=b/renamed")
			.header("b", '1', 0)
			.end();
		TarReader reader = new TarReader(new ByteArrayInputStream(bytes.toByteArray()), Long.MAX_VALUE);
		TarReader.Header first = reader.next();
		assertThat(first.name()).isEqualTo("a");
		assertThat(first.linkName()).isEqualTo(target);
		TarReader.Header second = reader.next();
		assertThat(second.name()).isEqualTo("b/renamed");
		assertThat(second.linkName()).isEqualTo("/etc/passwd");
		assertThat(reader.next()).isNull();
	}

	@Test
	void paxSizeOverridesTheHeaderAndGlobalHeadersAreIgnored() throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		TestArchives.RawTar tar = new TestArchives.RawTar(bytes);
		tar.globalPax("comment=0123456789abcdef0123456789abcdef01234567");
		tar.pax("size=11").header("a.txt", '0', 0).data("hello world".getBytes());
		tar.file("b.txt", "next".getBytes()).end();
		assertThat(readAll(bytes.toByteArray())).containsExactly("0 a.txt hello world", "0 b.txt next");
	}

	@Test
	void chainedExtendedHeadersStopAtTheLimitWithoutRecursion() throws IOException {
		ByteArrayOutputStream ok = new ByteArrayOutputStream();
		TestArchives.RawTar allowed = new TestArchives.RawTar(ok);
		for (int i = 0; i < TarReader.MAX_CHAINED_HEADERS; i++) {
			allowed.header("././@LongLink", 'L', 6).data("a.txt\0".getBytes());
		}
		allowed.file("short", "x".getBytes()).end();
		assertThat(readAll(ok.toByteArray())).containsExactly("0 a.txt x");

		ByteArrayOutputStream bomb = new ByteArrayOutputStream();
		TestArchives.RawTar chain = new TestArchives.RawTar(bomb);
		for (int i = 0; i < 20_000; i++) {
			chain.header("././@LongLink", 'L', 6).data("a.txt\0".getBytes());
		}
		chain.file("short", "x".getBytes()).end();
		CountingInput in = new CountingInput(bomb.toByteArray());
		assertThatThrownBy(() -> new TarReader(in, Long.MAX_VALUE).next()).isInstanceOfSatisfying(ApiException.class,
				(ex) -> {
					assertThat(ex.type()).isEqualTo(ProblemType.ARCHIVE_TOO_LARGE);
					assertThat(ex.getMessage()).contains("More than 16 extended tar headers");
				});
		// it stopped after the 17th header, not at the end of the chain
		assertThat(in.read).isLessThan(17 * 1024 + 512 + 1);
	}

	@ParameterizedTest
	@ValueSource(chars = { 'L', 'K', 'x', 'g' })
	void anExtendedHeaderOverTheLimitIsRefusedBeforeItsDataIsRead(char type) throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		new TestArchives.RawTar(bytes).header("././@LongLink", type, 1L << 30).zeros(1024 * 1024);
		CountingInput in = new CountingInput(bytes.toByteArray());
		assertThatThrownBy(() -> new TarReader(in, Long.MAX_VALUE).next()).isInstanceOfSatisfying(ApiException.class,
				(ex) -> {
					assertThat(ex.type()).isEqualTo(ProblemType.ARCHIVE_TOO_LARGE);
					assertThat(ex.getMessage()).contains("declares 1073741824 bytes, over the limit of 262144");
				});
		assertThat(in.read).isEqualTo(512);
	}

	@Test
	void everyByteCountsAgainstTheLimitHeadersIncluded() throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		TestArchives.RawTar tar = new TestArchives.RawTar(bytes);
		for (int i = 0; i < 10; i++) {
			tar.pax("comment=" + "z".repeat(100_000)).file("f" + i, new byte[0]);
		}
		tar.end();
		TarReader reader = new TarReader(new ByteArrayInputStream(bytes.toByteArray()), 500_000);
		assertThatThrownBy(() -> {
			while (reader.next() != null) {
				// headers only
			}
		}).isInstanceOfSatisfying(ApiException.class,
				(ex) -> assertThat(ex.getMessage()).contains("expands to more than 500000 bytes"));
	}

	@Test
	void damagedHeadersAreCorrupt() throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		new TestArchives.RawTar(bytes).file("a.txt", "hello".getBytes()).end();
		byte[] badChecksum = bytes.toByteArray();
		badChecksum[0] = 'b';
		assertCorrupt(badChecksum, "wrong checksum");
		assertCorrupt(Arrays.copyOf(bytes.toByteArray(), 300), "ends inside a header");

		ByteArrayOutputStream pax = new ByteArrayOutputStream();
		new TestArchives.RawTar(pax).header("PaxHeader", 'x', 12).data("99 path=abc\n".getBytes()).end();
		assertCorrupt(pax.toByteArray(), "pax header record is malformed");

		ByteArrayOutputStream dangling = new ByteArrayOutputStream();
		new TestArchives.RawTar(dangling).header("././@LongLink", 'L', 6).data("a.txt\0".getBytes()).end();
		assertCorrupt(dangling.toByteArray(), "extended header is followed by the end");
	}

	@Test
	void sparseFilesAreMarked() throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		new TestArchives.RawTar(bytes).pax("GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=a.png")
			.file("GNUSparseFile.0/a.png", "3\n0\n".getBytes())
			.header("old.png", 'S', 0)
			.end();
		TarReader reader = new TarReader(new ByteArrayInputStream(bytes.toByteArray()), Long.MAX_VALUE);
		assertThat(reader.next().sparse()).isTrue();
		assertThat(reader.next().sparse()).isTrue();
		assertThat(reader.next()).isNull();
	}

	private static void assertCorrupt(byte[] tar, String message) {
		assertThatThrownBy(() -> readAll(tar)).isInstanceOfSatisfying(ApiException.class, (ex) -> {
			assertThat(ex.type()).isEqualTo(ProblemType.CORRUPT_ARCHIVE);
			assertThat(ex.getMessage()).contains(message);
		});
	}

	private static void put(TarArchiveOutputStream tar, TarArchiveEntry entry, byte[] content) throws IOException {
		if (content != null) {
			entry.setSize(content.length);
		}
		tar.putArchiveEntry(entry);
		if (content != null) {
			tar.write(content);
		}
		tar.closeArchiveEntry();
	}

	/** {@code "<type> <name> <content>"} per entry. */
	private static List<String> readAll(byte[] tar) throws IOException {
		TarReader reader = new TarReader(new ByteArrayInputStream(tar), Long.MAX_VALUE);
		List<String> entries = new ArrayList<>();
		TarReader.Header header;
		while ((header = reader.next()) != null) {
			String content = new String(reader.content().readAllBytes(), StandardCharsets.UTF_8);
			entries.add(header.type() + " " + header.name() + " " + content);
		}
		return entries;
	}

	/** Counts how far a reader got. */
	private static final class CountingInput extends InputStream {

		private final ByteArrayInputStream in;

		private long read;

		CountingInput(byte[] bytes) {
			this.in = new ByteArrayInputStream(bytes);
		}

		@Override
		public int read() {
			int b = this.in.read();
			this.read += (b >= 0) ? 1 : 0;
			return b;
		}

		@Override
		public int read(byte[] buffer, int offset, int length) {
			int n = this.in.read(buffer, offset, length);
			this.read += Math.max(n, 0);
			return n;
		}

	}

}
