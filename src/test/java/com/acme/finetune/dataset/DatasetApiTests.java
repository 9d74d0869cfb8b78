package com.acme.finetune.dataset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

import com.acme.finetune.AbstractIntegrationTests;
import com.acme.finetune.dataset.intake.DiskSpace;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

import static com.acme.finetune.dataset.TestArchives.archive;
import static com.acme.finetune.dataset.TestArchives.png;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end over HTTP against PostgreSQL: every hostile archive is refused with its
 * problem type and leaves no row, blob or temporary file; good archives become datasets.
 */
@TestPropertySource(properties = { "app.datasets.max-entries=60", "app.datasets.max-total-uncompressed-bytes=6000000",
		"spring.servlet.multipart.max-file-size=4MB", "spring.servlet.multipart.max-request-size=4MB" })
@Import(DatasetApiTests.UsageConfiguration.class)
class DatasetApiTests extends AbstractIntegrationTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	@Autowired
	RestTestClient client;

	@Autowired
	ArtifactStore store;

	@Autowired
	JdbcTemplate jdbc;

	@Autowired
	DatasetService service;

	// ---- refusals ------------------------------------------------------------------

	@Test
	void notAnArchiveIs415() throws IOException {
		assertRefused("hello, not an archive".getBytes(), ProblemType.INVALID_ARCHIVE, 415);
		// the name says zip, the bytes say PNG
		assertRefused(png(1, 40, 40), ProblemType.INVALID_ARCHIVE, 415);
	}

	@Test
	void gzipWithoutTarIs415() throws IOException {
		java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
		try (var gz = new java.util.zip.GZIPOutputStream(bytes)) {
			gz.write("just some text".repeat(100).getBytes());
		}
		assertRefused(bytes.toByteArray(), ProblemType.INVALID_ARCHIVE, 415);
	}

	@ParameterizedTest
	@ValueSource(strings = { "../evil.png", "/abs/evil.png", "C:/evil.png", "cat\\..\\..\\evil.png",
			"cat/../../evil.png", "cat\\evil.png" })
	void entriesEscapingTheRootAre400(String name) throws IOException {
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).file(name, png(7, 40, 40)).zip();
		JsonNode problem = assertRefused(zip, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo(name);
	}

	@Test
	void absolutePathInTarIs400() throws IOException {
		byte[] tar = archive().images("cat", 3, 40).images("dog", 3, 40).file("/etc/evil.png", png(7, 40, 40)).tarGz();
		assertRefused(tar, ProblemType.UNSAFE_ARCHIVE, 400);
	}

	@Test
	void symlinksAndHardLinksInTarAre400() throws IOException {
		byte[] tar = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.symlink("cat/link.png", "/etc/passwd")
			.hardLink("dog/hard.png", "/etc/shadow")
			.tarGz();
		JsonNode problem = assertRefused(tar, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(problem.get("errors")).hasSize(2);
		assertThat(problem.get("errors").toString()).contains("symbolic link", "hard link");
	}

	@Test
	void tooManyEntriesIs413() throws IOException {
		TestArchives archive = archive();
		for (int i = 0; i < 61; i++) {
			archive.file("cat/f" + i + ".txt", new byte[] { 1 });
		}
		JsonNode problem = assertRefused(archive.zip(), ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(problem.get("detail").asString()).contains("more than 60 entries");
	}

	@Test
	void tooManyUncompressedBytesIs413() throws IOException {
		TestArchives archive = archive();
		for (int i = 0; i < 8; i++) {
			archive.file("cat/big" + i + ".png", TestArchives.lowEntropy(1_000_000, i));
		}
		JsonNode problem = assertRefused(archive.zip(), ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(problem.get("detail").asString()).contains("expands to more than 6000000 bytes");
	}

	@Test
	void compressionRatioOverTheLimitIs413() throws IOException {
		byte[] zip = archive().images("cat", 3, 40).file("dog/zeros.png", new byte[3_000_000]).zip();
		JsonNode problem = assertRefused(zip, ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(problem.get("detail").asString()).contains("compression ratio");
		byte[] tar = archive().images("cat", 3, 40).file("dog/zeros.png", new byte[3_000_000]).tarGz();
		assertRefused(tar, ProblemType.ARCHIVE_TOO_LARGE, 413);
	}

	@Test
	void nestedArchivesAre422() throws IOException {
		byte[] inner = archive().images("x", 1, 40).zip();
		byte[] innerTar = archive().images("y", 1, 40).tarGz();
		byte[] zip = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("cat/inner.png", inner)
			.file("dog/inner.tgz", innerTar)
			.zip();
		JsonNode problem = assertRefused(zip, ProblemType.NESTED_ARCHIVE, 422);
		assertThat(problem.get("errors")).hasSize(2);
	}

	@Test
	void everyBadImageIsListed() throws IOException {
		byte[] zip = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("cat/truncated.png", TestArchives.truncated(png(11, 64, 64)))
			.file("dog/truncated.jpg", TestArchives.truncated(TestArchives.jpeg(12, 64, 64)))
			.file("dog/garbage.jpg", TestArchives.random(2000, 3))
			.file("cat/notes.txt", "not an image".getBytes())
			.file("cat/empty.png", new byte[0])
			.zip();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_IMAGES, 422);
		Set<String> files = new TreeSet<>();
		problem.get("errors").forEach((e) -> files.add(e.get("file").asString()));
		assertThat(files).containsExactlyInAnyOrder("cat/truncated.png", "dog/truncated.jpg", "dog/garbage.jpg",
				"cat/notes.txt", "cat/empty.png");
	}

	@Test
	void filesBesideTheClassFoldersThatAreNotImagesAreLeftOutWithAWarning() throws IOException {
		// a downloaded dataset: wrapper folder, README and labels.csv next to the classes
		byte[] wrapped = archive().images("flowers/rose", 3, 40)
			.images("flowers/tulip", 3, 40)
			.file("flowers/README.md", "# Flowers\n".getBytes())
			.file("flowers/labels.csv", "file,label\n".getBytes())
			.file("flowers/NOTES", new byte[0])
			.zip();
		EntityExchangeResult<byte[]> result = post(wrapped, "flowers.zip", Map.of());
		assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(201);
		JsonNode dataset = body(result);
		assertThat(dataset.get("classes").toString()).isEqualTo("[\"rose\",\"tulip\"]");
		assertThat(dataset.get("imageCount").asInt()).isEqualTo(6);
		JsonNode warning = warning(dataset, "ignored-files");
		assertThat(warning.get("files").toString()).contains("flowers/README.md", "flowers/labels.csv",
				"flowers/NOTES");
		// the same at the archive root
		byte[] flat = archive().images("rose", 3, 40)
			.images("tulip", 3, 40)
			.file("LICENSE.txt", "CC".getBytes())
			.tarGz();
		JsonNode root = body(post(flat, "flat.tar.gz", Map.of()));
		assertThat(warning(root, "ignored-files").get("files").toString()).contains("LICENSE.txt");
		// inside a class folder it is still an error
		byte[] inClass = archive().images("rose", 3, 40)
			.images("tulip", 3, 40)
			.file("rose/README.md", "x".getBytes())
			.zip();
		JsonNode problem = assertRefused(inClass, ProblemType.INVALID_IMAGES, 422);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo("rose/README.md");
	}

	@Test
	void imagesReadersOnlyWarnAboutAreAccepted() throws IOException {
		// a CMYK JPEG without an ICC profile and stray bytes before the end marker: both
		// decode completely, with a reader warning that is not about damaged pixels
		byte[] cmyk = fixture("cmyk-no-profile.jpg");
		byte[] stray = fixture("extraneous-bytes.jpg");
		byte[] zip = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("cat/print.jpg", cmyk)
			.file("dog/camera.jpg", stray)
			.zip();
		EntityExchangeResult<byte[]> result = post(zip, "warned.zip", Map.of());
		assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(201);
		assertThat(body(result).get("imageCount").asInt()).isEqualTo(8);
		// while the same stream cut short is still refused
		byte[] cut = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("dog/cut.jpg", TestArchives.truncated(stray))
			.zip();
		JsonNode problem = assertRefused(cut, ProblemType.INVALID_IMAGES, 422);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo("dog/cut.jpg");
	}

	private static byte[] fixture(String name) throws IOException {
		try (var in = DatasetApiTests.class.getResourceAsStream("/fixtures/images/" + name)) {
			return in.readAllBytes();
		}
	}

	@Test
	void headerOnlyGiantImageIs422() throws IOException {
		byte[] zip = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("dog/bomb.png", TestArchives.pngHeaderOnly(100_000, 100_000))
			.zip();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_IMAGES, 422);
		assertThat(problem.get("errors").get(0).get("reason").asString()).contains("over the limit");
	}

	@Test
	void emptyArchiveIs422() throws IOException {
		assertRefused(archive().zip(), ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertRefused(archive().file(".DS_Store", new byte[] { 1 }).tarGz(), ProblemType.INVALID_DATASET_LAYOUT, 422);
	}

	@Test
	void oneClassIs422() throws IOException {
		JsonNode problem = assertRefused(archive().images("cat", 4, 40).zip(), ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertThat(problem.get("detail").asString()).contains("at least 2 classes");
	}

	@Test
	void classUnderTheMinimumIs422() throws IOException {
		JsonNode problem = assertRefused(archive().images("cat", 4, 40).images("dog", 1, 40).zip(),
				ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo("dog/");
	}

	@Test
	void imagesOutsideClassFoldersAre422() throws IOException {
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).file("loose.png", png(5, 40, 40)).zip();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo("loose.png");
	}

	@Test
	void uploadOverTheMaximumSizeIs413() throws IOException {
		assertRefused(TestArchives.random(4_500_000, 9), ProblemType.PAYLOAD_TOO_LARGE, 413);
	}

	@Test
	void validationSplitOutOfRangeIs400() throws IOException {
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).zip();
		Snapshot before = snapshot();
		EntityExchangeResult<byte[]> result = post(zip, "d.zip", Map.of("validationSplit", "0.9"));
		assertThat(result.getStatus().value()).isEqualTo(400);
		assertThat(body(result).get("type").asString()).isEqualTo(ProblemType.VALIDATION.uri().toString());
		assertThat(snapshot()).isEqualTo(before);
	}

	// ---- hostile headers and entry types (issue 14) ----------------------------------

	@Test
	void chainedLongNameHeadersAre413NotAStackOverflow() throws IOException {
		// 336 KB of gzip that made commons-compress recurse once per header
		byte[] bomb = TestArchives.gzip((out) -> {
			TestArchives.RawTar tar = new TestArchives.RawTar(out);
			for (int i = 0; i < 200_000; i++) {
				tar.header("././@LongLink", 'L', 512).data(new byte[512]);
			}
			tar.file("cat/a.png", png(1, 40, 40)).end();
		});
		assertThat(bomb.length).isLessThan(1_000_000);
		JsonNode problem = assertRefused(bomb, ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(problem.get("detail").asString()).contains("More than 16 extended tar headers");
	}

	@ParameterizedTest
	@ValueSource(chars = { 'L', 'x' })
	void aLongNameOrPaxHeaderOverTheLimitIs413(char type) throws IOException {
		// declares 64 MiB of header: refused before a byte of it is buffered
		byte[] bomb = TestArchives.gzip((out) -> new TestArchives.RawTar(out).header("././@LongLink", type, 64L << 20)
			.zeros(64L << 20)
			.file("cat/a.png", png(1, 40, 40))
			.end());
		JsonNode problem = assertRefused(bomb, ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(problem.get("detail").asString()).contains("declares 67108864 bytes, over the limit of 262144");
	}

	@Test
	void devicesFifosAndSparseFilesInTarAre400() throws IOException {
		byte[] tar = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.special("cat/tty.png", TarConstants.LF_CHR)
			.special("cat/disk.png", TarConstants.LF_BLK)
			.special("dog/pipe.png", TarConstants.LF_FIFO)
			.tarGz();
		JsonNode problem = assertRefused(tar, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(problem.get("errors").toString()).contains("character device", "block device", "FIFO");
		assertThat(problem.get("errors")).hasSize(3);

		byte[] sparse = TestArchives.gzip((out) -> new TestArchives.RawTar(out).file("cat/a.png", png(1, 40, 40))
			.file("cat/b.png", png(2, 40, 40))
			.file("dog/a.png", png(3, 40, 40))
			.pax("GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=dog/b.png")
			.file("dog/GNUSparseFile.0/b.png", png(4, 40, 40))
			.end());
		JsonNode sparseProblem = assertRefused(sparse, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(sparseProblem.get("errors").get(0).get("reason").asString()).contains("sparse file");
	}

	@Test
	void zipEntriesWhoseCentralDirectorySaysLinkOrDeviceAre400() throws IOException {
		// the local headers, all a streaming reader sees, look like plain files
		byte[] zip = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.unixMode("cat/passwd.png", "/etc/passwd".getBytes(), 0120777)
			.unixMode("dog/pipe.png", new byte[0], 0010644)
			.unixMode("dog/fine.png", png(9, 40, 40), 0100644)
			.zip();
		JsonNode problem = assertRefused(zip, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(problem.get("errors")).hasSize(2);
		assertThat(problem.get("errors").get(0).get("file").asString()).isEqualTo("cat/passwd.png");
		assertThat(problem.get("errors").get(0).get("reason").asString()).isEqualTo("symbolic link");
		assertThat(problem.get("errors").get(1).get("reason").asString()).isEqualTo("FIFO (named pipe)");
	}

	@Test
	void directoryEntriesCarryingDataAre400AndCountAgainstTheLimits() throws IOException {
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).file("cat/", "hidden".getBytes()).zip();
		JsonNode problem = assertRefused(zip, ProblemType.UNSAFE_ARCHIVE, 400);
		assertThat(problem.get("errors").get(0).get("reason").asString())
			.isEqualTo("directory entry carrying 6 bytes of data");
		byte[] tar = TestArchives.gzip((out) -> new TestArchives.RawTar(out).header("cat/", '5', 1024)
			.zeros(1024)
			.file("cat/a.png", png(1, 40, 40))
			.file("cat/b.png", png(2, 40, 40))
			.file("dog/a.png", png(3, 40, 40))
			.file("dog/b.png", png(4, 40, 40))
			.end());
		assertRefused(tar, ProblemType.UNSAFE_ARCHIVE, 400);
		// 7 MB in a directory entry: inflated and counted like any file
		byte[] big = archive().images("cat", 3, 40)
			.images("dog", 3, 40)
			.file("dog/", TestArchives.lowEntropy(7_000_000, 5))
			.zip();
		JsonNode tooLarge = assertRefused(big, ProblemType.ARCHIVE_TOO_LARGE, 413);
		assertThat(tooLarge.get("detail").asString()).contains("expands to more than 6000000 bytes");
	}

	@Test
	void storedZipEntriesWithADataDescriptorAre415() throws IOException {
		// the streaming zip reader would hold each of them whole in memory
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).zipStoredWithDataDescriptors();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_ARCHIVE, 415);
		assertThat(problem.get("detail").asString()).contains("data descriptor");
	}

	// ---- labels and lengths (issue 14) -----------------------------------------------

	@ParameterizedTest
	@ValueSource(
			strings = { "ca\nt", "ca\rt", "ca\tt", "ca\u0085t", "ca\u2028t", "ca\u2029t", "ca\u007ft", "ca\u202et" })
	void classNamesWithControlCharactersAre422(String label) throws IOException {
		byte[] zip = archive().images(label, 2, 40).images("dog", 2, 40).zip();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_DATASET_LAYOUT, 422);
		JsonNode error = problem.get("errors").get(0);
		assertThat(error.get("file").asString()).isEqualTo(label + "/");
		assertThat(error.get("reason").asString()).contains("control character U+");
	}

	@Test
	void classNamesEqualAfterCaseFoldingOrNormalisationAre422() throws IOException {
		JsonNode cased = assertRefused(archive().images("Cat", 2, 40).images("cat", 2, 40).images("dog", 2, 40).zip(),
				ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertThat(cased.get("detail").asString()).contains("'Cat', 'cat'");
		assertThat(cased.get("errors").get(0).get("file").asString()).isEqualTo("Cat/");
		// café composed (NFC) and decomposed (NFD)
		JsonNode normalised = assertRefused(archive().images("caf\u00e9", 2, 40).images("cafe\u0301", 2, 40).tarGz(),
				ProblemType.INVALID_DATASET_LAYOUT, 422);
		assertThat(normalised.get("errors").get(0).get("reason").asString()).contains("'caf\u00e9'", "'cafe\u0301'",
				"letter case or Unicode normalisation");
	}

	@Test
	void entryPathsLongerThanTheColumnAre422() throws IOException {
		String longPath = "cat/" + "n".repeat(4100) + ".png";
		byte[] zip = archive().images("cat", 2, 40).images("dog", 2, 40).file(longPath, png(5, 40, 40)).zip();
		JsonNode problem = assertRefused(zip, ProblemType.INVALID_DATASET_LAYOUT, 422);
		JsonNode error = problem.get("errors").get(0);
		assertThat(error.get("reason").asString()).isEqualTo("path longer than 4096 characters");
		// quoted, but cut: a reply never repeats a hostile name in full
		assertThat(error.get("file").asString()).startsWith("cat/nnn")
			.endsWith("(4108 characters)")
			.hasSizeLessThan(1100);
	}

	@Test
	void aWarningListingManyLongClassNamesIsCutNotAFailure() throws IOException {
		// one image in 10 classes with 250-character names: the duplicate warning names
		// them all, more than the message column holds
		byte[] shared = png(4343, 40, 40);
		TestArchives archive = archive();
		for (int i = 0; i < 10; i++) {
			String label = i + "-" + "x".repeat(248);
			archive.file(label + "/shared.png", shared).file(label + "/own.png", png(600 + i, 40, 40));
		}
		EntityExchangeResult<byte[]> result = post(archive.zip(), "many.zip", Map.of());
		assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(201);
		JsonNode warning = warning(body(result), "duplicate-across-classes");
		assertThat(warning.get("message").asString()).hasSize(2000).endsWith("…");
		assertThat(warning.get("files")).hasSize(10);
	}

	@Test
	void datasetNamesMustBePlainTextOfAtMost255Characters() throws IOException {
		byte[] zip = archive().images("cat", 2, 40).images("dog", 2, 40).zip();
		for (String name : List.of("evil\nname", "nul\u0000name", "x".repeat(256))) {
			Snapshot before = snapshot();
			EntityExchangeResult<byte[]> result = post(zip, "d.zip", Map.of("name", name));
			assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(400);
			JsonNode problem = body(result);
			assertThat(problem.get("type").asString()).isEqualTo(ProblemType.VALIDATION.uri().toString());
			assertThat(problem.get("errors").get(0).get("field").asString()).isEqualTo("name");
			assertThat(snapshot()).isEqualTo(before);
		}
	}

	@Test
	void aFilenameThatIsASlashOrHoldsControlCharactersStillNamesTheDataset() throws IOException {
		byte[] zip = archive().images("cat", 2, 40).images("dog", 2, 40).zip();
		EntityExchangeResult<byte[]> slash = post(zip, "/", Map.of());
		assertThat(slash.getStatus().value()).as(new String(slash.getResponseBody())).isEqualTo(201);
		assertThat(body(slash).get("name").asString()).isEqualTo("dataset");
		EntityExchangeResult<byte[]> control = post(zip, "pe\u0001ts\u0085.zip", Map.of());
		assertThat(control.getStatus().value()).as(new String(control.getResponseBody())).isEqualTo(201);
		assertThat(body(control).get("name").asString()).isEqualTo("pets");
		// what the service makes of names no HTTP client sends
		assertThat(DatasetService.datasetName(null, "a\u0000b.tar.gz")).isEqualTo("ab");
		assertThat(DatasetService.datasetName(null, "C:\\uploads\\flowers.zip")).isEqualTo("flowers");
		assertThat(DatasetService.datasetName(null, "\u0000")).isEqualTo("dataset");
	}

	// ---- a full disk (issue 14) ------------------------------------------------------

	@Test
	void aFullDiskIs507AndLeavesNothingBehind() throws IOException {
		byte[] zip = archive().images("cat", 3, 40).images("dog", 3, 40).zip();
		// full before the upload is copied
		UsageConfiguration.USABLE.set(() -> 0L);
		try {
			JsonNode problem = assertRefused(zip, ProblemType.INSUFFICIENT_STORAGE, 507);
			assertThat(problem.get("detail").asString()).contains("Not enough disk space");
		}
		finally {
			UsageConfiguration.USABLE.set(null);
		}
		// full in the middle of the extraction: 4 files written, then no room
		java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
		UsageConfiguration.USABLE.set(() -> (checks.incrementAndGet() <= 5) ? Long.MAX_VALUE / 2 : 1024L);
		try {
			assertRefused(zip, ProblemType.INSUFFICIENT_STORAGE, 507);
			assertThat(checks.get()).isGreaterThan(5);
		}
		finally {
			UsageConfiguration.USABLE.set(null);
		}
		assertThat(post(zip, "after.zip", Map.of()).getStatus().value()).isEqualTo(201);
	}

	// ---- happy paths ---------------------------------------------------------------

	@Test
	void theSameIdempotencyKeyGivesOneDataset() {
		byte[] zip = archive().images("ant", 3, 40).images("bee", 3, 40).zip();
		String key = java.util.UUID.randomUUID().toString();
		EntityExchangeResult<byte[]> first = postWithKey(zip, key, "0.2");
		EntityExchangeResult<byte[]> second = postWithKey(zip, key, "0.2");
		assertThat(first.getStatus().value()).isEqualTo(201);
		assertThat(second.getStatus().value()).isEqualTo(201);
		assertThat(body(second).get("id").asString()).isEqualTo(body(first).get("id").asString());
		EntityExchangeResult<byte[]> other = postWithKey(zip, key, "0.4");
		assertThat(other.getStatus().value()).isEqualTo(422);
		assertThat(body(other).get("type").asString()).isEqualTo(ProblemType.IDEMPOTENCY_KEY_REUSED.uri().toString());
	}

	private EntityExchangeResult<byte[]> postWithKey(byte[] archive, String key, String split) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", new ByteArrayResource(archive) {

			@Override
			public String getFilename() {
				return "insects.zip";
			}

		});
		parts.add("validationSplit", split);
		return this.client.post()
			.uri("/api/v1/datasets")
			.header("Idempotency-Key", key)
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectBody()
			.returnResult();
	}

	@Test
	void flatLayoutIsSplitPerClassAndDeterministically() throws IOException {
		byte[] zip = archive().images("cat", 5, 40).images("dog", 10, 40).zip();
		EntityExchangeResult<byte[]> result = post(zip, "pets.zip", Map.of());
		assertThat(result.getStatus().value()).isEqualTo(201);
		JsonNode dataset = body(result);
		String id = dataset.get("id").asString();
		assertThat(result.getResponseHeaders().getLocation()).hasPath("/api/v1/datasets/" + id);
		assertThat(dataset.get("name").asString()).isEqualTo("pets");
		assertThat(dataset.get("status").asString()).isEqualTo("READY");
		assertThat(dataset.get("classes").toString()).isEqualTo("[\"cat\",\"dog\"]");
		assertThat(dataset.get("imageCount").asInt()).isEqualTo(15);
		assertThat(dataset.get("classCounts").get("cat").asInt()).isEqualTo(5);
		assertThat(dataset.get("classCounts").get("dog").asInt()).isEqualTo(10);
		assertThat(dataset.get("split").get("train").asInt()).isEqualTo(12);
		assertThat(dataset.get("split").get("validation").asInt()).isEqualTo(3);
		assertThat(dataset.get("sizeBytes").asLong()).isEqualTo(zip.length);
		assertThat(dataset.get("sha256").asString()).hasSize(64);
		assertThat(dataset.get("warnings")).isEmpty();
		assertThat(dataset.get("createdAt").asString()).endsWith("Z");

		// the same bytes give the same split: stored per file, seeded by content
		EntityExchangeResult<byte[]> again = post(zip, "pets.zip", Map.of("name", "pets again"));
		String secondId = body(again).get("id").asString();
		assertThat(splitOf(id)).isEqualTo(splitOf(secondId)).hasSize(15);

		TrainingData data = this.service.trainingData(UUID.fromString(id));
		assertThat(data.key()).isEqualTo(dataset.get("sha256").asString());
		assertThat(data.labels()).containsExactly("cat", "dog");
		assertThat(data.train()).hasSize(12);
		assertThat(data.validation()).hasSize(3);
		assertThat(data.validation()).extracting(TrainingData.Sample::label).contains(0, 1);
		assertThat(data.train()).allSatisfy((s) -> assertThat(s.image()).isRegularFile().isAbsolute());

		this.client.get()
			.uri("/api/v1/datasets/" + id)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.id")
			.isEqualTo(id)
			.jsonPath("$.split.validation")
			.isEqualTo(3);
	}

	@Test
	void trainValLayoutInAWrapperFolderWithJunkIgnored() throws IOException {
		byte[] tar = archive().images("pets/train/cat", 4, 40)
			.images("pets/train/dog", 4, 40)
			.images("pets/val/cat", 2, 40)
			.images("pets/val/dog", 1, 40)
			.file("pets/.DS_Store", new byte[] { 1, 2 })
			.file("pets/train/cat/._img0.png", new byte[] { 0, 5, 22 })
			.file("__MACOSX/pets/train/cat/._img1.png", new byte[] { 0, 5, 22 })
			.file("pets/.hidden/x.txt", "x".getBytes())
			.tarGz();
		EntityExchangeResult<byte[]> result = post(tar, "pets.tar.gz", Map.of("name", "Pets v1"));
		assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(201);
		JsonNode dataset = body(result);
		assertThat(dataset.get("name").asString()).isEqualTo("Pets v1");
		assertThat(dataset.get("classes").toString()).isEqualTo("[\"cat\",\"dog\"]");
		assertThat(dataset.get("split").get("train").asInt()).isEqualTo(8);
		assertThat(dataset.get("split").get("validation").asInt()).isEqualTo(3);
		assertThat(dataset.get("classCounts").get("cat").asInt()).isEqualTo(6);
		Map<String, String> split = splitOf(dataset.get("id").asString());
		assertThat(split).containsEntry("val/cat/img0.png", "validation").containsEntry("train/dog/img3.png", "train");
	}

	@Test
	void warningsForDuplicatesImbalanceAndTinyImages() throws IOException {
		byte[] shared = png(4242, 40, 40);
		// big: 30 + 2 duplicates + 1 in val = 33; small: tiny + 2 duplicates = 3 -> ratio
		// 11 > 10
		byte[] zip = archive().images("train/big", 30, 40)
			.file("train/small/tiny.png", png(77, 16, 16))
			.file("train/big/dup-a.png", shared)
			.file("train/big/dup-b.png", shared)
			.file("train/small/dup-c.png", shared)
			.file("val/small/dup-d.png", shared)
			.file("val/big/v.png", png(78, 40, 40))
			.zip();
		EntityExchangeResult<byte[]> result = post(zip, "w.zip", Map.of());
		assertThat(result.getStatus().value()).as(new String(result.getResponseBody())).isEqualTo(201);
		JsonNode dataset = body(result);
		List<String> codes = new ArrayList<>();
		dataset.get("warnings").forEach((w) -> codes.add(w.get("code").asString()));
		assertThat(codes).containsExactlyInAnyOrder("duplicate-within-class", "duplicate-across-classes",
				"duplicate-across-splits", "class-imbalance", "tiny-images");
		JsonNode imbalance = warning(dataset, "class-imbalance");
		// big: 22 + 2 dups + 1 val = 25, small: 2 + tiny + dup + val dup = 5 -> ratio 5;
		// not imbalanced? see below
		// n_total / (n_classes * n_c)
		assertThat(imbalance.get("classWeights").get("small").asDouble()).isEqualTo(6.0);
		assertThat(imbalance.get("classWeights").get("big").asDouble()).isEqualTo(0.5455);
		assertThat(warning(dataset, "tiny-images").get("files").toString()).contains("train/small/tiny.png");
		assertThat(warning(dataset, "duplicate-across-splits").get("files")).hasSize(4);

		// warnings are stored, not just returned
		this.client.get()
			.uri("/api/v1/datasets/" + dataset.get("id").asString())
			.exchange()
			.expectBody()
			.jsonPath("$.warnings.length()")
			.isEqualTo(5);
	}

	@Test
	void identicalImagesAreStoredOnceAndDeleteKeepsSharedBlobs() throws IOException {
		byte[] first = archive().images("a", 3, 48).images("b", 3, 48).zip();
		byte[] second = archive().images("a", 3, 48).images("c", 3, 48).zip();
		String one = body(post(first, "one.zip", Map.of())).get("id").asString();
		long blobsAfterOne = countBlobFiles();
		String two = body(post(second, "two.zip", Map.of())).get("id").asString();
		// a/ is identical in both: only c/'s three images are new
		assertThat(countBlobFiles()).isEqualTo(blobsAfterOne + 3);

		Set<String> shaOfA = new TreeSet<>(
				this.jdbc.queryForList("select sha256 from dataset_file where dataset_id = ? and path like 'a/%'",
						String.class, UUID.fromString(one)));
		Set<String> shaOfB = new TreeSet<>(
				this.jdbc.queryForList("select sha256 from dataset_file where dataset_id = ? and path like 'b/%'",
						String.class, UUID.fromString(one)));

		this.client.delete().uri("/api/v1/datasets/" + one).exchange().expectStatus().isNoContent();
		assertThat(shaOfB).allSatisfy((sha) -> assertThat(this.store.blobPath(sha)).doesNotExist());
		assertThat(shaOfA).allSatisfy((sha) -> assertThat(this.store.blobPath(sha)).exists());
		assertThat(rows("dataset_file", one)).isZero();
		assertThat(rows("dataset_class", one)).isZero();
		this.client.get().uri("/api/v1/datasets/" + one).exchange().expectStatus().isNotFound();
		this.client.delete().uri("/api/v1/datasets/" + one).exchange().expectStatus().isNotFound();

		this.client.delete().uri("/api/v1/datasets/" + two).exchange().expectStatus().isNoContent();
		assertThat(shaOfA).allSatisfy((sha) -> assertThat(this.store.blobPath(sha)).doesNotExist());
	}

	@Test
	void deleteWhileAJobUsesTheDatasetIs409() throws IOException {
		String id = body(post(archive().images("a", 2, 40).images("b", 2, 40).zip(), "x.zip", Map.of())).get("id")
			.asString();
		UsageConfiguration.IN_USE.add(UUID.fromString(id));
		try {
			this.client.delete()
				.uri("/api/v1/datasets/" + id)
				.exchange()
				.expectStatus()
				.isEqualTo(409)
				.expectHeader()
				.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
				.expectBody()
				.jsonPath("$.type")
				.isEqualTo(ProblemType.DATASET_IN_USE.uri().toString());
			this.client.get().uri("/api/v1/datasets/" + id).exchange().expectStatus().isOk();
		}
		finally {
			UsageConfiguration.IN_USE.remove(UUID.fromString(id));
		}
		this.client.delete().uri("/api/v1/datasets/" + id).exchange().expectStatus().isNoContent();
	}

	@Test
	void listIsPagedAndSorted() throws IOException {
		String prefix = "list-" + UUID.randomUUID();
		List<String> ids = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			byte[] zip = archive().images("a", 2, 40).images("b", 2, 40).zip();
			ids.add(body(post(zip, "l.zip", Map.of("name", prefix + "-" + i))).get("id").asString());
		}
		JsonNode page = body(this.client.get()
			.uri("/api/v1/datasets?page=0&size=2&sort=createdAt,desc")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult());
		assertThat(page.get("page").asInt()).isZero();
		assertThat(page.get("size").asInt()).isEqualTo(2);
		assertThat(page.get("totalItems").asLong()).isGreaterThanOrEqualTo(3);
		assertThat(page.get("items")).hasSize(2);
		// newest first: the last two created here
		assertThat(page.get("items").get(0).get("id").asString()).isEqualTo(ids.get(2));
		assertThat(page.get("items").get(1).get("id").asString()).isEqualTo(ids.get(1));

		JsonNode next = body(this.client.get()
			.uri("/api/v1/datasets?page=1&size=2&sort=createdAt,desc")
			.exchange()
			.expectBody()
			.returnResult());
		assertThat(next.get("items").get(0).get("id").asString()).isEqualTo(ids.get(0));

		this.client.get().uri("/api/v1/datasets?sort=password").exchange().expectStatus().isBadRequest();
		this.client.get().uri("/api/v1/datasets?size=1000").exchange().expectStatus().isBadRequest();
	}

	@Test
	void unknownAndMalformedIds() {
		this.client.get()
			.uri("/api/v1/datasets/" + UUID.randomUUID())
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.NOT_FOUND.uri().toString());
		this.client.delete().uri("/api/v1/datasets/" + UUID.randomUUID()).exchange().expectStatus().isNotFound();
		this.client.get().uri("/api/v1/datasets/not-a-uuid").exchange().expectStatus().isBadRequest();
	}

	// ---- helpers -------------------------------------------------------------------

	private JsonNode assertRefused(byte[] archive, ProblemType type, int status) throws IOException {
		Snapshot before = snapshot();
		EntityExchangeResult<byte[]> result = post(archive, "upload.zip", Map.of());
		JsonNode problem = body(result);
		assertThat(result.getStatus().value()).as(problem.toString()).isEqualTo(status);
		assertThat(result.getResponseHeaders().getContentType()).isNotNull()
			.satisfies((c) -> assertThat(c.isCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)).isTrue());
		assertThat(problem.get("type").asString()).isEqualTo(type.uri().toString());
		assertThat(problem.get("status").asInt()).isEqualTo(status);
		assertThat(snapshot()).isEqualTo(before);
		// the service is still healthy afterwards
		this.client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
		return problem;
	}

	private EntityExchangeResult<byte[]> post(byte[] archive, String filename, Map<String, String> params) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", new ByteArrayResource(archive) {

			@Override
			public String getFilename() {
				return filename;
			}

		});
		params.forEach(parts::add);
		return this.client.post()
			.uri("/api/v1/datasets")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectBody()
			.returnResult();
	}

	private static JsonNode body(EntityExchangeResult<byte[]> result) {
		byte[] content = result.getResponseBody();
		return json.readTree((content != null) ? content : new byte[0]);
	}

	private static JsonNode warning(JsonNode dataset, String code) {
		for (JsonNode warning : dataset.get("warnings")) {
			if (code.equals(warning.get("code").asString())) {
				return warning;
			}
		}
		throw new AssertionError("no warning " + code + " in " + dataset.get("warnings"));
	}

	private Map<String, String> splitOf(String id) {
		Map<String, String> split = new java.util.TreeMap<>();
		this.jdbc.query("select path, split from dataset_file where dataset_id = ?",
				(org.springframework.jdbc.core.RowCallbackHandler) (rs) -> split.put(rs.getString(1), rs.getString(2)),
				UUID.fromString(id));
		return split;
	}

	private long rows(String table, String id) {
		return this.jdbc.queryForObject("select count(*) from " + table + " where dataset_id = ?", Long.class,
				UUID.fromString(id));
	}

	private long countBlobFiles() throws IOException {
		Path blobs = this.store.root().resolve("blobs");
		if (!Files.exists(blobs)) {
			return 0;
		}
		try (Stream<Path> files = Files.walk(blobs)) {
			return files.filter(Files::isRegularFile).count();
		}
	}

	/** Everything a refused upload must leave untouched: rows and files. */
	private Snapshot snapshot() throws IOException {
		Set<String> files = new TreeSet<>();
		try (Stream<Path> walk = Files.walk(this.store.root())) {
			walk.filter(Files::isRegularFile).forEach((p) -> files.add(this.store.root().relativize(p).toString()));
		}
		long datasets = this.jdbc.queryForObject("select count(*) from dataset", Long.class);
		long fileRows = this.jdbc.queryForObject("select count(*) from dataset_file", Long.class);
		long blobRows = this.jdbc.queryForObject("select count(*) from dataset_blob", Long.class);
		return new Snapshot(files, datasets, fileRows, blobRows);
	}

	private record Snapshot(Set<String> files, long datasets, long fileRows, long blobRows) {
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class UsageConfiguration {

		static final Set<UUID> IN_USE = ConcurrentHashMap.newKeySet();

		/** The free disk space tests pretend, or null for the real one. */
		static final AtomicReference<LongSupplier> USABLE = new AtomicReference<>();

		@Bean
		DatasetUsage testDatasetUsage() {
			return IN_USE::contains;
		}

		@Bean
		@Primary
		DiskSpace testDiskSpace() {
			return new DiskSpace() {

				@Override
				protected long usableBytes(Path dir) throws IOException {
					LongSupplier usable = USABLE.get();
					return (usable != null) ? usable.getAsLong() : super.usableBytes(dir);
				}

			};
		}

	}

}
