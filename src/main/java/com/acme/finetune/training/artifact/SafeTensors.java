package com.acme.finetune.training.artifact;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Writes the safetensors format (huggingface/safetensors, {@code docs/format}): an
 * unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON mapping each
 * tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an
 * optional {@code __metadata__} object of strings), then the tensors' bytes,
 * little-endian and row-major, with offsets relative to the end of the header. The byte
 * buffer has no holes and no overlaps. The header is padded with spaces so the buffer
 * starts 8-byte aligned, and tensors are laid out widest element first, so every tensor
 * starts aligned to its element size (what memory-mapping readers want).
 */
public final class SafeTensors {

	/** The element types written here, with their safetensors names and sizes. */
	enum DType {

		F32("F32", 4), I64("I64", 8);

		final String id;

		final int bytes;

		DType(String id, int bytes) {
			this.id = id;
			this.bytes = bytes;
		}

	}

	/**
	 * One tensor; its values are read only when written, so a whole network never needs
	 * to be copied at once.
	 */
	public record Tensor(String name, DType dtype, long[] shape, Supplier<ByteBuffer> data) {

		public static Tensor f32(String name, long[] shape, Supplier<float[]> values) {
			return new Tensor(name, DType.F32, shape, () -> {
				float[] v = values.get();
				ByteBuffer buffer = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
				buffer.asFloatBuffer().put(v);
				return buffer;
			});
		}

		public static Tensor i64(String name, long[] shape, long... values) {
			return new Tensor(name, DType.I64, shape, () -> {
				ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
				buffer.asLongBuffer().put(values);
				return buffer;
			});
		}

		long elements() {
			long n = 1;
			for (long d : this.shape) {
				if (d < 0) {
					throw new IllegalArgumentException(this.name + ": negative dimension " + d);
				}
				n = Math.multiplyExact(n, d);
			}
			return n;
		}

		long byteLength() {
			return Math.multiplyExact(elements(), this.dtype.bytes);
		}

	}

	private SafeTensors() {
	}

	/**
	 * Writes the tensors (names unique, never {@code __metadata__}) and the metadata to
	 * {@code out}, which stays open.
	 */
	public static void write(OutputStream out, Map<String, String> metadata, List<Tensor> tensors) throws IOException {
		Set<String> names = new HashSet<>();
		for (Tensor t : tensors) {
			if (t.name().isEmpty() || t.name().equals("__metadata__") || !names.add(t.name())) {
				throw new IllegalArgumentException("Tensor names must be unique and not __metadata__: " + t.name());
			}
		}
		List<Tensor> layout = new ArrayList<>(tensors);
		// stable: tensors of one element size keep the caller's order
		layout.sort(Comparator.comparingInt((Tensor t) -> -t.dtype().bytes));
		Map<String, Long> begin = new HashMap<>();
		long offset = 0;
		for (Tensor t : layout) {
			begin.put(t.name(), offset);
			offset = Math.addExact(offset, t.byteLength());
		}
		// the header lists tensors in the caller's order, each with its place in the
		// buffer
		StringBuilder json = new StringBuilder("{");
		if (metadata != null && !metadata.isEmpty()) {
			json.append("\"__metadata__\":{");
			boolean first = true;
			for (Map.Entry<String, String> e : metadata.entrySet()) {
				json.append(first ? "" : ",").append(quote(e.getKey())).append(':').append(quote(e.getValue()));
				first = false;
			}
			json.append('}');
		}
		for (Tensor t : tensors) {
			long at = begin.get(t.name());
			json.append((json.length() > 1) ? "," : "").append(quote(t.name())).append(":{\"dtype\":\"");
			json.append(t.dtype().id).append("\",\"shape\":[");
			for (int d = 0; d < t.shape().length; d++) {
				json.append((d > 0) ? "," : "").append(t.shape()[d]);
			}
			json.append("],\"data_offsets\":[").append(at).append(',').append(at + t.byteLength());
			json.append("]}");
		}
		json.append('}');
		byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
		int padded = (int) ((8 + header.length + 7) / 8 * 8) - 8;
		ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
		prefix.putLong(padded).put(header);
		while (prefix.hasRemaining()) {
			prefix.put((byte) ' ');
		}
		out.write(prefix.array());
		for (Tensor t : layout) {
			ByteBuffer data = t.data().get();
			if (data.remaining() != t.byteLength()) {
				throw new IOException("Tensor " + t.name() + " has " + data.remaining() + " bytes, its shape needs "
						+ t.byteLength());
			}
			out.write(data.array(), data.arrayOffset() + data.position(), data.remaining());
		}
	}

	/** A JSON string literal. */
	static String quote(String s) {
		StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
		for (int i = 0; i < s.length(); i++) {
			char c = s.charAt(i);
			switch (c) {
				case '"' -> sb.append("\\\"");
				case '\\' -> sb.append("\\\\");
				case '\n' -> sb.append("\\n");
				case '\r' -> sb.append("\\r");
				case '\t' -> sb.append("\\t");
				default -> {
					if (c < 0x20) {
						sb.append(String.format("\\u%04x", (int) c));
					}
					else {
						sb.append(c);
					}
				}
			}
		}
		return sb.append('"').toString();
	}

}
