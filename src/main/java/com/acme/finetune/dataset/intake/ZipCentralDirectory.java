package com.acme.finetune.dataset.intake;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.BiConsumer;

/**
 * Reads a zip's central directory for what the local headers, the only thing a streaming
 * reader sees, do not carry: each entry's unix file type. {@code unzip} creates a
 * symbolic link, device or FIFO from the central directory whatever the local header
 * says, so such an entry is refused even though it streams like a plain file.
 * <p>
 * The directory is streamed record by record: nothing but one name is held at a time, and
 * more records than the entry limit stop the scan.
 */
final class ZipCentralDirectory {

	private static final int EOCD = 0x06054b50;

	private static final int ZIP64_LOCATOR = 0x07064b50;

	private static final int ZIP64_EOCD = 0x06064b50;

	private static final int CENTRAL_HEADER = 0x02014b50;

	private static final int S_IFMT = 0170000;

	private ZipCentralDirectory() {
	}

	/**
	 * Reports every entry whose unix mode is neither a regular file nor a directory.
	 * @param special receives the entry name and why it is refused
	 * @throws com.acme.finetune.web.ApiException 413 over {@code maxEntries} records, 422
	 * without a readable central directory
	 */
	static void scan(Path zip, int maxEntries, BiConsumer<String, String> special) throws IOException {
		try (FileChannel channel = FileChannel.open(zip, StandardOpenOption.READ)) {
			long start = locate(channel);
			if (start < 0) {
				return;
			}
			InputStream in = new BufferedInputStream(Channels.newInputStream(channel.position(start)), 64 * 1024);
			byte[] fixed = new byte[46];
			ByteBuffer header = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
			int count = 0;
			while (in.readNBytes(fixed, 0, 46) == 46 && header.getInt(0) == CENTRAL_HEADER) {
				if (++count > maxEntries) {
					throw IntakeProblems.tooLarge("The archive has more than " + maxEntries + " entries");
				}
				int nameLength = header.getShort(28) & 0xffff;
				int extraLength = header.getShort(30) & 0xffff;
				int commentLength = header.getShort(32) & 0xffff;
				int mode = header.getInt(38) >>> 16;
				byte[] name = in.readNBytes(nameLength);
				try {
					in.skipNBytes(extraLength + commentLength);
				}
				catch (EOFException ex) {
					throw IntakeProblems.corrupt("the zip's central directory is truncated");
				}
				String reason = reason(mode);
				if (reason != null) {
					special.accept(new String(name, StandardCharsets.UTF_8), reason);
				}
			}
		}
	}

	/** Why a unix mode is refused, or null for a file, a directory or no unix mode. */
	static String reason(int mode) {
		return switch (mode & S_IFMT) {
			case 0, 0100000, 0040000 -> null;
			case 0120000 -> "symbolic link";
			case 0020000 -> "character device";
			case 0060000 -> "block device";
			case 0010000 -> "FIFO (named pipe)";
			case 0140000 -> "socket";
			default -> "special file (unix mode " + Integer.toOctalString(mode) + ")";
		};
	}

	/**
	 * Where the central directory starts, from the end-of-central-directory record (zip64
	 * when its fields overflow), or -1 for an archive without entries.
	 */
	private static long locate(FileChannel channel) throws IOException {
		long size = channel.size();
		int tail = (int) Math.min(size, 22 + 65535);
		ByteBuffer end = read(channel, size - tail, tail);
		int at = -1;
		for (int i = tail - 22; i >= 0; i--) {
			if (end.getInt(i) == EOCD && i + 22 + (end.getShort(i + 20) & 0xffff) <= tail) {
				at = i;
				break;
			}
		}
		if (at < 0) {
			throw IntakeProblems.corrupt("the zip has no central directory (truncated?)");
		}
		long eocd = size - tail + at;
		long entries = end.getShort(at + 10) & 0xffff;
		long directorySize = end.getInt(at + 12) & 0xffffffffL;
		long offset = end.getInt(at + 16) & 0xffffffffL;
		if ((entries == 0xffff || directorySize == 0xffffffffL || offset == 0xffffffffL) && eocd >= 20) {
			ByteBuffer locator = read(channel, eocd - 20, 20);
			if (locator.getInt(0) == ZIP64_LOCATOR) {
				long zip64 = locator.getLong(8);
				if (zip64 >= 0 && zip64 + 56 <= size) {
					ByteBuffer record = read(channel, zip64, 56);
					if (record.getInt(0) == ZIP64_EOCD) {
						entries = record.getLong(32);
						directorySize = record.getLong(40);
						offset = record.getLong(48);
					}
				}
			}
		}
		if (entries == 0 && directorySize == 0) {
			return -1;
		}
		// data prepended to the zip shifts every offset; the directory then ends where
		// the end record begins
		for (long candidate : new long[] { offset, eocd - directorySize }) {
			if (candidate >= 0 && candidate + 4 <= size && read(channel, candidate, 4).getInt(0) == CENTRAL_HEADER) {
				return candidate;
			}
		}
		throw IntakeProblems.corrupt("the zip's central directory is not where its end record says");
	}

	private static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
		ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
		while (buffer.hasRemaining()) {
			if (channel.read(buffer, position + buffer.position()) < 0) {
				throw IntakeProblems.corrupt("the zip ends early");
			}
		}
		return buffer.flip();
	}

}
