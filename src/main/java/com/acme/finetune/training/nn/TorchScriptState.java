package com.acme.finetune.training.nn;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The float tensors of a TorchScript file (parameters and buffers, e.g. BatchNorm running
 * statistics), by dotted attribute name: DJL only lists a module's parameters.
 *
 * <p>
 * A TorchScript file is a zip whose {@code data.pkl} pickles the module tree (modules as
 * objects whose state maps attribute names to submodules and tensors) and whose
 * {@code data/<key>} entries hold the tensors' storages, little-endian. This reads just
 * the pickle operations those files use; anything else fails with an {@link IOException},
 * and callers fall back to running the module as it is.
 */
public final class TorchScriptState {

	/** A float tensor: its shape and values, row-major. */
	public record Tensor(long[] shape, float[] values) {
	}

	private record Global(String module, String name) {
	}

	private record Storage(String key, String type) {
	}

	private record TensorRef(Storage storage, long offset, long[] shape, long[] stride) {
	}

	private static final class Obj {

		Object state;

	}

	private static final Object MARK = new Object();

	private TorchScriptState() {
	}

	/** Every float tensor reachable from the root module, by dotted name. */
	public static Map<String, Tensor> read(Path file) throws IOException {
		try (ZipFile zip = new ZipFile(file.toFile())) {
			ZipEntry pickle = zip.stream()
				.filter((e) -> e.getName().endsWith("/data.pkl")
						&& e.getName().indexOf('/') == e.getName().length() - 9)
				.findFirst()
				.orElseThrow(() -> new IOException("No data.pkl in " + file.getFileName()));
			String root = pickle.getName().substring(0, pickle.getName().length() - "data.pkl".length());
			Object module;
			try (InputStream in = zip.getInputStream(pickle)) {
				module = new Unpickler(in.readAllBytes()).load();
			}
			Map<String, TensorRef> refs = new LinkedHashMap<>();
			collect(module, "", refs);
			Map<String, Tensor> tensors = new LinkedHashMap<>();
			Map<String, ByteBuffer> storages = new HashMap<>();
			for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
				TensorRef ref = e.getValue();
				if (!ref.storage().type().equals("FloatStorage")) {
					continue;
				}
				ByteBuffer data = storages.computeIfAbsent(ref.storage().key(), (key) -> {
					ZipEntry entry = zip.getEntry(root + "data/" + key);
					if (entry == null) {
						return null;
					}
					try (InputStream in = zip.getInputStream(entry)) {
						return ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
					}
					catch (IOException ex) {
						return null;
					}
				});
				if (data == null) {
					throw new IOException("Missing storage " + ref.storage().key() + " in " + file.getFileName());
				}
				tensors.put(e.getKey(), values(ref, data));
			}
			return tensors;
		}
		catch (RuntimeException ex) {
			throw new IOException("Unreadable TorchScript state in " + file.getFileName() + ": " + ex, ex);
		}
	}

	private static void collect(Object value, String name, Map<String, TensorRef> refs) {
		if (value instanceof TensorRef ref) {
			refs.put(name, ref);
		}
		else if (value instanceof Obj obj && obj.state instanceof Map<?, ?> state) {
			for (Map.Entry<?, ?> e : state.entrySet()) {
				if (e.getKey() instanceof String key) {
					collect(e.getValue(), name.isEmpty() ? key : name + "." + key, refs);
				}
			}
		}
	}

	private static Tensor values(TensorRef ref, ByteBuffer data) {
		long[] shape = ref.shape();
		int n = 1;
		for (long d : shape) {
			n = Math.multiplyExact(n, (int) d);
		}
		float[] values = new float[n];
		int[] index = new int[shape.length];
		for (int i = 0; i < n; i++) {
			long at = ref.offset();
			for (int d = 0; d < shape.length; d++) {
				at += index[d] * ref.stride()[d];
			}
			values[i] = data.getFloat(Math.toIntExact(at * Float.BYTES));
			for (int d = shape.length - 1; d >= 0; d--) {
				if (++index[d] < shape[d]) {
					break;
				}
				index[d] = 0;
			}
		}
		return new Tensor(shape, values);
	}

	/** The subset of pickle protocol 2 that TorchScript's {@code data.pkl} uses. */
	private static final class Unpickler {

		private final ByteBuffer in;

		private final Deque<Object> stack = new ArrayDeque<>();

		private final Map<Integer, Object> memo = new HashMap<>();

		Unpickler(byte[] bytes) {
			this.in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
		}

		Object load() throws IOException {
			while (true) {
				int op = this.in.get() & 0xFF;
				switch (op) {
					case 0x80 -> this.in.get(); // PROTO
					case '.' -> {
						return this.stack.pop();
					}
					case 'c' -> this.stack.push(new Global(line(), line()));
					case 'q' -> this.memo.put(this.in.get() & 0xFF, this.stack.peek());
					case 'r' -> this.memo.put(this.in.getInt(), this.stack.peek());
					case 'h' -> this.stack.push(this.memo.get(this.in.get() & 0xFF));
					case 'j' -> this.stack.push(this.memo.get(this.in.getInt()));
					case '(' -> this.stack.push(MARK);
					case ')' -> this.stack.push(List.of());
					case '}' -> this.stack.push(new LinkedHashMap<>());
					case ']' -> this.stack.push(new ArrayList<>());
					case 'N' -> this.stack.push(Opaque.NONE);
					case 0x88 -> this.stack.push(Boolean.TRUE);
					case 0x89 -> this.stack.push(Boolean.FALSE);
					case 'K' -> this.stack.push((long) (this.in.get() & 0xFF));
					case 'M' -> this.stack.push((long) (this.in.getShort() & 0xFFFF));
					case 'J' -> this.stack.push((long) this.in.getInt());
					case 0x8a -> this.stack.push(long1());
					case 'G' -> this.stack.push(Double.longBitsToDouble(Long.reverseBytes(this.in.getLong())));
					case 'X' -> this.stack.push(string(this.in.getInt()));
					case 0x8c -> this.stack.push(string(this.in.get() & 0xFF));
					case 't' -> this.stack.push(popToMark());
					case 0x85 -> this.stack.push(List.of(this.stack.pop()));
					case 0x86 -> {
						Object b = this.stack.pop();
						this.stack.push(List.of(this.stack.pop(), b));
					}
					case 0x87 -> {
						Object c = this.stack.pop();
						Object b = this.stack.pop();
						this.stack.push(List.of(this.stack.pop(), b, c));
					}
					case 'e' -> {
						List<Object> items = popToMark();
						list(this.stack.peek()).addAll(items);
					}
					case 'a' -> {
						Object item = this.stack.pop();
						list(this.stack.peek()).add(item);
					}
					case 'u' -> {
						List<Object> items = popToMark();
						Map<Object, Object> map = map(this.stack.peek());
						for (int i = 0; i + 1 < items.size(); i += 2) {
							map.put(items.get(i), items.get(i + 1));
						}
					}
					case 's' -> {
						Object value = this.stack.pop();
						Object key = this.stack.pop();
						map(this.stack.peek()).put(key, value);
					}
					case 0x81 -> { // NEWOBJ
						this.stack.pop();
						this.stack.pop();
						this.stack.push(new Obj());
					}
					case 'b' -> { // BUILD
						Object state = this.stack.pop();
						if (this.stack.peek() instanceof Obj obj) {
							obj.state = state;
						}
					}
					case 'Q' -> this.stack.push(persistent(this.stack.pop()));
					case 'R' -> {
						Object args = this.stack.pop();
						this.stack.push(reduce(this.stack.pop(), args));
					}
					default -> throw new IOException("Unsupported pickle operation 0x" + Integer.toHexString(op));
				}
			}
		}

		private Object reduce(Object callable, Object args) {
			if (callable instanceof Global g && args instanceof List<?> a) {
				String name = g.module() + "." + g.name();
				if (name.equals("torch._utils._rebuild_tensor_v2") && a.size() >= 4
						&& a.get(0) instanceof Storage storage) {
					return new TensorRef(storage, (Long) a.get(1), longs(a.get(2)), longs(a.get(3)));
				}
				if (name.equals("torch._utils._rebuild_parameter") && !a.isEmpty()) {
					return a.get(0);
				}
				if (name.equals("collections.OrderedDict")) {
					return new LinkedHashMap<>();
				}
			}
			return Opaque.OTHER;
		}

		private static Object persistent(Object pid) {
			if (pid instanceof List<?> p && p.size() >= 3 && "storage".equals(p.get(0))
					&& p.get(1) instanceof Global type && p.get(2) instanceof String key) {
				return new Storage(key, type.name());
			}
			return Opaque.OTHER;
		}

		private static long[] longs(Object list) {
			List<?> items = (List<?>) list;
			long[] values = new long[items.size()];
			for (int i = 0; i < values.length; i++) {
				values[i] = (Long) items.get(i);
			}
			return values;
		}

		@SuppressWarnings("unchecked")
		private static List<Object> list(Object o) {
			return (List<Object>) o;
		}

		@SuppressWarnings("unchecked")
		private static Map<Object, Object> map(Object o) {
			return (Map<Object, Object>) o;
		}

		private List<Object> popToMark() {
			List<Object> items = new ArrayList<>();
			Object o;
			while ((o = this.stack.pop()) != MARK) {
				items.add(0, o);
			}
			return items;
		}

		private long long1() {
			int n = this.in.get() & 0xFF;
			long value = 0;
			for (int i = 0; i < n; i++) {
				value |= (this.in.get() & 0xFFL) << (8 * i);
			}
			if (n > 0 && n < 8 && (value & (1L << (8 * n - 1))) != 0) {
				value -= 1L << (8 * n);
			}
			return value;
		}

		private String string(int length) {
			byte[] bytes = new byte[length];
			this.in.get(bytes);
			return new String(bytes, StandardCharsets.UTF_8);
		}

		private String line() {
			ByteArrayOutputStream out = new ByteArrayOutputStream();
			byte b;
			while ((b = this.in.get()) != '\n') {
				out.write(b);
			}
			return out.toString(StandardCharsets.UTF_8);
		}

	}

	/** Values this reader does not need (None, other objects). */
	private enum Opaque {

		NONE, OTHER

	}

}
