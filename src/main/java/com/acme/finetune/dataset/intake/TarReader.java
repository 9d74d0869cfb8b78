package com.acme.finetune.dataset.intake;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads a tar stream header by header with limits of its own, so that no header can make
 * it buffer: GNU long-name and PAX extended headers are refused before they are read when
 * they declare more than {@link #MAX_EXTENDED_HEADER_BYTES}, at most
 * {@link #MAX_CHAINED_HEADERS} of them may precede one entry, and chains are followed in
 * a loop, never by recursion. Every byte consumed (headers, padding, data) counts against
 * {@code maxBytes}.
 * <p>
 * Formats: ustar (with its name prefix), GNU (long names and links, old sparse headers)
 * and POSIX pax ({@code path}, {@code linkpath} and {@code size} of local headers; global
 * headers are read and ignored). The entry's type flag is returned as it is: what to
 * accept is the caller's decision. commons-compress's reader is not used for tar because
 * it collects long names and pax headers in memory without bound and follows chained
 * headers recursively (issue 14).
 */
final class TarReader {

	static final int BLOCK = 512;

	/** Largest GNU long name or pax header read; real ones are a few hundred bytes. */
	static final int MAX_EXTENDED_HEADER_BYTES = 256 * 1024;

	/** Most extended headers (long name, long link, pax, global pax) before one entry. */
	static final int MAX_CHAINED_HEADERS = 16;

	private final InputStream in;

	private final long maxBytes;

	private final byte[] block = new byte[BLOCK];

	private long position;

	/** Data bytes of the current entry not yet read, then its padding to the block. */
	private long remaining;

	private long padding;

	private boolean ended;

	/**
	 * @param in the uncompressed tar bytes
	 * @param maxBytes most bytes read from {@code in}, headers and padding included
	 */
	TarReader(InputStream in, long maxBytes) {
		this.in = in;
		this.maxBytes = maxBytes;
	}

	/** Bytes consumed from the tar stream so far: headers, padding and data. */
	long position() {
		return this.position;
	}

	/**
	 * The next entry, skipping what is left of the current one, or null at the end of the
	 * archive (a zero block or the end of the stream at a block boundary).
	 */
	Header next() throws IOException {
		skipRest();
		if (this.ended) {
			return null;
		}
		String longName = null;
		String longLink = null;
		PaxHeaders pax = PaxHeaders.NONE;
		for (int chained = 0;; chained++) {
			if (!readBlock()) {
				this.ended = true;
				if (chained > 0) {
					throw IntakeProblems.corrupt("the archive ends after an extended header, without its entry");
				}
				return null;
			}
			if (isZero(this.block)) {
				this.ended = true;
				if (chained > 0) {
					throw IntakeProblems.corrupt("an extended header is followed by the end of the archive");
				}
				return null;
			}
			verifyChecksum();
			char type = (char) (this.block[156] & 0xff);
			long size = size();
			if (isExtended(type)) {
				if (chained >= MAX_CHAINED_HEADERS) {
					throw IntakeProblems.tooLarge("More than " + MAX_CHAINED_HEADERS
							+ " extended tar headers (long names, pax) precede one entry");
				}
				if (size > MAX_EXTENDED_HEADER_BYTES) {
					throw IntakeProblems.tooLarge("A tar extended header ('" + type + "') declares " + size
							+ " bytes, over the limit of " + MAX_EXTENDED_HEADER_BYTES);
				}
				byte[] data = readData((int) size);
				switch (type) {
					case 'L' -> longName = cString(data, 0, data.length);
					case 'K' -> longLink = cString(data, 0, data.length);
					case 'x', 'X' -> pax = pax.with(PaxHeaders.parse(data));
					default -> {
						// 'g': global pax headers (git archive writes a comment) are
						// validated and ignored
						PaxHeaders.parse(data);
					}
				}
				continue;
			}
			String name = (longName != null) ? longName : (pax.path() != null) ? pax.path() : headerName();
			String linkName = (longLink != null) ? longLink
					: (pax.linkPath() != null) ? pax.linkPath() : cString(this.block, 157, 100);
			if (pax.size() >= 0) {
				size = pax.size();
			}
			if (size > this.maxBytes) {
				throw IntakeProblems.tooLarge("Entry " + IntakeProblems.reportable(name) + " declares " + size
						+ " bytes, more than the archive may" + " expand to (" + this.maxBytes + ")");
			}
			boolean sparse = pax.sparse() || type == 'S';
			if (type == 'S') {
				chained = skipSparseExtensions(chained);
			}
			this.remaining = size;
			this.padding = (BLOCK - size % BLOCK) % BLOCK;
			return new Header(name, type, linkName, size, sparse);
		}
	}

	/** The current entry's data; ends where the entry ends. */
	InputStream content() {
		return new InputStream() {

			@Override
			public int read() throws IOException {
				byte[] one = new byte[1];
				int n = read(one, 0, 1);
				return (n < 0) ? -1 : (one[0] & 0xff);
			}

			@Override
			public int read(byte[] buffer, int offset, int length) throws IOException {
				if (length == 0) {
					return 0;
				}
				if (TarReader.this.remaining == 0) {
					return -1;
				}
				int n = TarReader.this.in.read(buffer, offset, (int) Math.min(length, TarReader.this.remaining));
				if (n < 0) {
					throw new EOFException("the archive ends inside an entry");
				}
				TarReader.this.remaining -= n;
				consumed(n);
				return n;
			}

		};
	}

	private void skipRest() throws IOException {
		skip(this.remaining + this.padding);
		this.remaining = 0;
		this.padding = 0;
	}

	private void skip(long count) throws IOException {
		byte[] buffer = new byte[(int) Math.min(count, 64 * 1024)];
		long left = count;
		while (left > 0) {
			int n = this.in.read(buffer, 0, (int) Math.min(left, buffer.length));
			if (n < 0) {
				throw new EOFException("the archive ends inside an entry");
			}
			left -= n;
			consumed(n);
		}
	}

	/** Old GNU sparse headers may be followed by extension blocks of sparse maps. */
	private int skipSparseExtensions(int chained) throws IOException {
		boolean extended = this.block[482] != 0;
		int count = chained;
		while (extended) {
			if (++count > MAX_CHAINED_HEADERS) {
				throw IntakeProblems
					.tooLarge("More than " + MAX_CHAINED_HEADERS + " sparse extension headers precede one entry");
			}
			if (!readBlock()) {
				throw IntakeProblems.corrupt("the archive ends inside a sparse header");
			}
			extended = this.block[504] != 0;
		}
		return count;
	}

	private static boolean isExtended(char type) {
		return type == 'L' || type == 'K' || type == 'x' || type == 'X' || type == 'g';
	}

	/** Reads one header block; false at the end of the stream on a block boundary. */
	private boolean readBlock() throws IOException {
		int n = this.in.readNBytes(this.block, 0, BLOCK);
		consumed(n);
		if (n == 0) {
			return false;
		}
		if (n < BLOCK) {
			throw IntakeProblems.corrupt("the archive ends inside a header");
		}
		return true;
	}

	private byte[] readData(int size) throws IOException {
		byte[] data = this.in.readNBytes(size);
		consumed(data.length);
		if (data.length < size) {
			throw IntakeProblems.corrupt("the archive ends inside an extended header");
		}
		skip((BLOCK - size % BLOCK) % BLOCK);
		return data;
	}

	private void consumed(long bytes) {
		this.position += bytes;
		if (this.position > this.maxBytes) {
			throw IntakeProblems.tooLarge("The archive expands to more than " + this.maxBytes + " bytes");
		}
	}

	private void verifyChecksum() {
		long stored = octal(148, 8);
		long unsigned = 0;
		long signed = 0;
		for (int i = 0; i < BLOCK; i++) {
			byte b = (i >= 148 && i < 156) ? (byte) ' ' : this.block[i];
			unsigned += b & 0xff;
			signed += b;
		}
		if (stored != unsigned && stored != signed) {
			throw IntakeProblems.corrupt("a tar header has a wrong checksum (at byte " + (this.position - BLOCK) + ")");
		}
	}

	/** The size field: octal, or base-256 (GNU and star) when the high bit is set. */
	private long size() {
		if ((this.block[124] & 0x80) != 0) {
			if ((this.block[124] & 0x40) != 0) {
				throw IntakeProblems.corrupt("a tar header declares a negative size");
			}
			long value = this.block[124] & 0x3f;
			for (int i = 125; i < 136; i++) {
				if (value > (Long.MAX_VALUE >>> 8)) {
					throw IntakeProblems.corrupt("a tar header declares a size beyond 2^63");
				}
				value = (value << 8) | (this.block[i] & 0xff);
			}
			return value;
		}
		return octal(124, 12);
	}

	private long octal(int offset, int length) {
		long value = 0;
		int i = offset;
		int end = offset + length;
		while (i < end && (this.block[i] == ' ' || this.block[i] == 0)) {
			i++;
		}
		for (; i < end && this.block[i] != ' ' && this.block[i] != 0; i++) {
			int digit = this.block[i] - '0';
			if (digit < 0 || digit > 7) {
				throw IntakeProblems
					.corrupt("a tar header has an invalid number field (at byte " + (this.position - BLOCK) + ")");
			}
			value = (value << 3) + digit;
		}
		return value;
	}

	/** ustar splits long names into a prefix and a name; GNU headers have no prefix. */
	private String headerName() {
		String name = cString(this.block, 0, 100);
		boolean posix = this.block[257] == 'u' && this.block[258] == 's' && this.block[259] == 't'
				&& this.block[260] == 'a' && this.block[261] == 'r' && this.block[262] == 0;
		if (posix) {
			String prefix = cString(this.block, 345, 155);
			if (!prefix.isEmpty()) {
				return prefix + "/" + name;
			}
		}
		return name;
	}

	/** Bytes up to the first NUL, as UTF-8. */
	private static String cString(byte[] bytes, int offset, int length) {
		int end = offset;
		while (end < offset + length && bytes[end] != 0) {
			end++;
		}
		return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
	}

	private static boolean isZero(byte[] bytes) {
		for (byte b : bytes) {
			if (b != 0) {
				return false;
			}
		}
		return true;
	}

	/**
	 * One entry's header, extended headers applied.
	 *
	 * @param type the ustar type flag: {@code '0'} or NUL a file, {@code '5'} a
	 * directory, {@code '1'} a hard link, {@code '2'} a symbolic link, {@code '3'},
	 * {@code '4'}, {@code '6'} devices and FIFOs, anything else unusual
	 * @param size bytes of data that follow the header
	 * @param sparse a GNU sparse file (old format or pax), whose data is a map and
	 * fragments rather than the file
	 */
	record Header(String name, char type, String linkName, long size, boolean sparse) {
	}

	/** The pax keys that change how an entry is read. */
	record PaxHeaders(String path, String linkPath, long size, boolean sparse) {

		static final PaxHeaders NONE = new PaxHeaders(null, null, -1, false);

		PaxHeaders with(PaxHeaders later) {
			return new PaxHeaders((later.path != null) ? later.path : this.path,
					(later.linkPath != null) ? later.linkPath : this.linkPath,
					(later.size >= 0) ? later.size : this.size, this.sparse || later.sparse);
		}

		/**
		 * Records {@code "<length> <key>=<value>\n"}, the length counting the whole
		 * record.
		 */
		static PaxHeaders parse(byte[] data) {
			String path = null;
			String linkPath = null;
			long size = -1;
			boolean sparse = false;
			int at = 0;
			while (at < data.length) {
				if (data[at] == 0) {
					// some writers pad the header with NULs
					if (!isZero(Arrays.copyOfRange(data, at, data.length))) {
						throw IntakeProblems.corrupt("a pax header has data after its NUL padding");
					}
					break;
				}
				int space = at;
				int length = 0;
				while (space < data.length && data[space] >= '0' && data[space] <= '9' && space - at < 9) {
					length = length * 10 + (data[space] - '0');
					space++;
				}
				if (space == at || space >= data.length || data[space] != ' ' || length <= space - at
						|| at + length > data.length || data[at + length - 1] != '\n') {
					throw IntakeProblems.corrupt("a pax header record is malformed");
				}
				String record = new String(data, space + 1, at + length - space - 2, StandardCharsets.UTF_8);
				int equals = record.indexOf('=');
				if (equals <= 0) {
					throw IntakeProblems.corrupt("a pax header record has no key");
				}
				String key = record.substring(0, equals);
				// an empty value unsets the key
				String value = (equals + 1 < record.length()) ? record.substring(equals + 1) : null;
				switch (key) {
					case "path" -> path = value;
					case "linkpath" -> linkPath = value;
					case "size" -> size = (value != null) ? paxSize(value) : -1;
					default -> sparse |= key.startsWith("GNU.sparse.");
				}
				at += length;
			}
			return new PaxHeaders(path, linkPath, size, sparse);
		}

		private static long paxSize(String value) {
			if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch((c) -> c >= '0' && c <= '9')) {
				throw IntakeProblems.corrupt("a pax header has an invalid size '" + value + "'");
			}
			return Long.parseLong(value);
		}

	}

}
