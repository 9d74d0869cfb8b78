package com.acme.finetune.dataset.intake;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

/**
 * Keeps one upload from filling the disk: its writes stop with a 507 problem once the
 * filesystem would keep less than the configured reserve, checked before each file and
 * every {@link #CHECK_INTERVAL} bytes while streaming (a {@code statvfs} call, cheap at
 * that rate). A write that fails anyway because something else filled the disk is
 * recognised by {@link #isDiskFull} and answered the same way.
 */
public final class DiskGuard {

	static final long CHECK_INTERVAL = 8L * 1024 * 1024;

	/** How operating systems word a full disk or an exhausted quota. */
	private static final List<String> FULL = List.of("no space left on device", "disk quota exceeded",
			"not enough space on the disk");

	private final DiskSpace space;

	private final Path dir;

	private final long reserve;

	public DiskGuard(DiskSpace space, Path dir, long reserve) {
		this.space = space;
		this.dir = dir;
		this.reserve = reserve;
	}

	/** Refuses (507) unless {@code bytes} more leave the reserve free. */
	public void require(long bytes) {
		long usable;
		try {
			usable = this.space.usableBytes(this.dir);
		}
		catch (IOException ex) {
			// cannot tell: a write into a full disk still fails and is mapped to 507
			return;
		}
		if (usable - bytes < this.reserve) {
			throw insufficientStorage();
		}
	}

	/** {@code out}, checking the free space every {@link #CHECK_INTERVAL} bytes. */
	public OutputStream watch(OutputStream out) {
		return new FilterOutputStream(out) {

			private long sinceCheck;

			@Override
			public void write(int b) throws IOException {
				write(new byte[] { (byte) b }, 0, 1);
			}

			@Override
			public void write(byte[] bytes, int offset, int length) throws IOException {
				this.sinceCheck += length;
				if (this.sinceCheck > CHECK_INTERVAL) {
					require(CHECK_INTERVAL);
					this.sinceCheck = length;
				}
				this.out.write(bytes, offset, length);
			}

		};
	}

	public static ApiException insufficientStorage() {
		return new ApiException(ProblemType.INSUFFICIENT_STORAGE,
				"Not enough disk space to store this upload; nothing was stored. Retry later or ask an operator"
						+ " to free space");
	}

	/** Whether this failure, or one of its causes, is a full disk or quota. */
	public static boolean isDiskFull(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			String message = cause.getMessage();
			if (cause instanceof IOException && message != null) {
				String lower = message.toLowerCase(Locale.ROOT);
				if (FULL.stream().anyMatch(lower::contains)) {
					return true;
				}
			}
			if (cause.getCause() == cause) {
				break;
			}
		}
		return false;
	}

}
