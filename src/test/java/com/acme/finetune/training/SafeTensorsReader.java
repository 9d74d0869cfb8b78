package com.acme.finetune.training;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A safetensors reader for tests, written from the format's specification and sharing no
 * code with the writer: it parses the header with a JSON library and checks every rule a
 * strict reader (the reference implementation) enforces: header length within the file, a
 * JSON object beginning with '{' (trailing spaces allowed), known dtypes, shapes matching
 * byte ranges, and a byte buffer covered without holes or overlaps.
 */
final class SafeTensorsReader {

	/** One tensor as read: dtype, shape, and its bytes (little-endian). */
	record Entry(String name, String dtype, long[] shape, long begin, long end, ByteBuffer data) {

		float[] floats() {
			if (!"F32".equals(this.dtype)) {
				throw new IllegalStateException(this.name + " is " + this.dtype);
			}
			float[] values = new float[this.data.remaining() / 4];
			this.data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
			return values;
		}

		long[] longs() {
			if (!"I64".equals(this.dtype)) {
				throw new IllegalStateException(this.name + " is " + this.dtype);
			}
			long[] values = new long[this.data.remaining() / 8];
			this.data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(values);
			return values;
		}

	}

	/** What a file holds: the header's metadata, its tensors in header order. */
	record Contents(long headerLength, Map<String, String> metadata, Map<String, Entry> tensors) {
	}

	private static final Map<String, Integer> SIZES = Map.of("F64", 8, "F32", 4, "F16", 2, "BF16", 2, "I64", 8, "I32",
			4, "I16", 2, "I8", 1, "U8", 1, "BOOL", 1);

	private SafeTensorsReader() {
	}

	static Contents read(byte[] file) throws IOException {
		ByteBuffer buffer = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
		if (file.length < 8) {
			throw new IOException("shorter than the header length");
		}
		long n = buffer.getLong(0);
		if (n < 2 || 8 + n > file.length) {
			throw new IOException("header length " + n + " outside the file");
		}
		String header = new String(file, 8, (int) n, StandardCharsets.UTF_8);
		if (header.charAt(0) != '{' || !header.stripTrailing().endsWith("}")
				|| !header.substring(header.stripTrailing().length()).chars().allMatch((c) -> c == ' ')) {
			throw new IOException("header is not a JSON object padded with spaces");
		}
		JsonNode json = JsonMapper.builder().build().readTree(header);
		Map<String, String> metadata = new LinkedHashMap<>();
		Map<String, Entry> tensors = new LinkedHashMap<>();
		long dataStart = 8 + n;
		long dataLength = file.length - dataStart;
		for (Map.Entry<String, JsonNode> e : json.properties()) {
			if (e.getKey().equals("__metadata__")) {
				for (Map.Entry<String, JsonNode> m : e.getValue().properties()) {
					if (!m.getValue().isString()) {
						throw new IOException("metadata values must be strings");
					}
					metadata.put(m.getKey(), m.getValue().asString());
				}
				continue;
			}
			JsonNode t = e.getValue();
			String dtype = t.get("dtype").asString();
			Integer size = SIZES.get(dtype);
			if (size == null) {
				throw new IOException("unknown dtype " + dtype);
			}
			long[] shape = new long[t.get("shape").size()];
			long elements = 1;
			for (int i = 0; i < shape.length; i++) {
				shape[i] = t.get("shape").get(i).asLong();
				elements *= shape[i];
			}
			long begin = t.get("data_offsets").get(0).asLong();
			long end = t.get("data_offsets").get(1).asLong();
			if (begin > end || end > dataLength || end - begin != elements * size) {
				throw new IOException(e.getKey() + ": offsets " + begin + ".." + end + " do not fit " + elements
						+ " elements of " + dtype);
			}
			ByteBuffer data = ByteBuffer.wrap(file, (int) (dataStart + begin), (int) (end - begin)).slice();
			tensors.put(e.getKey(), new Entry(e.getKey(), dtype, shape, begin, end, data));
		}
		List<Entry> byOffset = new ArrayList<>(tensors.values());
		byOffset.sort(Comparator.comparingLong(Entry::begin));
		long expected = 0;
		for (Entry entry : byOffset) {
			if (entry.begin() != expected) {
				throw new IOException("hole or overlap before " + entry.name());
			}
			expected = entry.end();
		}
		if (expected != dataLength) {
			throw new IOException("the byte buffer has " + (dataLength - expected) + " unindexed bytes");
		}
		return new Contents(n, metadata, tensors);
	}

}
