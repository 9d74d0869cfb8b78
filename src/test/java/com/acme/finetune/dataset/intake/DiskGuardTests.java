package com.acme.finetune.dataset.intake;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Free-space checks and how a full disk is recognised, without filling one. */
class DiskGuardTests {

	@Test
	void refusesOnceTheReserveWouldBeTouched(@TempDir Path dir) {
		DiskGuard guard = new DiskGuard(fixed(1000), dir, 600);
		guard.require(400);
		assertThatExceptionOfType(ApiException.class).isThrownBy(() -> guard.require(401))
			.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.INSUFFICIENT_STORAGE));
	}

	@Test
	void aStreamIsCheckedEveryIntervalWhileItIsWritten(@TempDir Path dir) throws IOException {
		AtomicInteger checks = new AtomicInteger();
		DiskSpace space = new DiskSpace() {

			@Override
			protected long usableBytes(Path path) {
				// room for the first two intervals only
				return (checks.incrementAndGet() <= 2) ? 100 * DiskGuard.CHECK_INTERVAL : 0;
			}

		};
		DiskGuard guard = new DiskGuard(space, dir, 0);
		byte[] chunk = new byte[1024 * 1024];
		long written = 0;
		try (OutputStream out = guard.watch(OutputStream.nullOutputStream())) {
			while (written < 100 * DiskGuard.CHECK_INTERVAL) {
				out.write(chunk);
				written += chunk.length;
			}
		}
		catch (ApiException ex) {
			assertThat(ex.type()).isEqualTo(ProblemType.INSUFFICIENT_STORAGE);
		}
		assertThat(checks.get()).isEqualTo(3);
		assertThat(written).isEqualTo(3 * DiskGuard.CHECK_INTERVAL);
	}

	@Test
	void theOperatingSystemsFullDiskErrorIsRecognised() throws IOException {
		// Linux's /dev/full answers every write with ENOSPC, as a full filesystem does
		Path full = Path.of("/dev/full");
		assumeTrue(Files.isWritable(full), "needs /dev/full");
		IOException failure = null;
		try (OutputStream out = Files.newOutputStream(full)) {
			out.write(new byte[4096]);
			out.flush();
		}
		catch (IOException ex) {
			failure = ex;
		}
		assertThat(failure).isNotNull();
		assertThat(DiskGuard.isDiskFull(failure)).as(failure.toString()).isTrue();
		assertThat(DiskGuard.isDiskFull(new UncheckedIOException(failure))).isTrue();
		assertThat(DiskGuard.isDiskFull(new IOException("Disk quota exceeded"))).isTrue();
		assertThat(DiskGuard.isDiskFull(new IOException("Connection reset"))).isFalse();
		assertThat(DiskGuard.isDiskFull(new IllegalStateException("No space left on device"))).isFalse();
	}

	private static DiskSpace fixed(long usable) {
		return new DiskSpace() {

			@Override
			protected long usableBytes(Path dir) {
				return usable;
			}

		};
	}

}
