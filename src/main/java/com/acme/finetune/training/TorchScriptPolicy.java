package com.acme.finetune.training;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Which TorchScript files this service is willing to load: an allow-list of what the
 * graph's code may call, read from the archive before libtorch sees it.
 *
 * <p>
 * A TorchScript file is a zip whose {@code code/**.py} files hold the module's methods as
 * TorchScript source; libtorch compiles exactly that source when it loads the file (and
 * runs {@code __setstate__} while unpickling {@code data.pkl}), so every operator the
 * graph can ever run is named in it. In that source an operator is reached as
 * {@code torch.<op>} ({@code aten::<op>}), {@code ops.<namespace>.<op>}, a method of a
 * tensor, list or string ({@code x.<op>(...)} is {@code aten::<op>}), or one of
 * TorchScript's global builtins. This class reads the source with a lexer that agrees
 * with TorchScript's on strings, comments and numbers, and accepts only:
 * <ul>
 * <li>{@code aten::} operators of tensor math a CNN or transformer backbone uses
 * (convolutions, normalisation, pooling, activations, arithmetic, reductions, shape and
 * list operations) and a few {@code prim::} ones;</li>
 * <li>attributes and methods of the archive's own classes, where the receiver is known to
 * be such a class ({@code self}, {@code self.layer1}, ...), and the {@code forward}
 * methods of submodules;</li>
 * <li>a fixed set of global builtins ({@code int}, {@code len}, {@code getattr} with a
 * literal name, ...), type names and the code's own local variables.</li>
 * </ul>
 * Everything else is refused and named: {@code aten::from_file}, {@code aten::save},
 * {@code print}, custom operator namespaces ({@code ops.myops.x}), C++ classes
 * ({@code __torch__.torch.classes.*}, also in the pickles), a name shadowing a builtin,
 * nested functions, unusual characters outside strings. An allow-list, because a
 * deny-list of I/O operators would miss the next one libtorch adds. Loops are allowed
 * (TorchScript's own functional code has them); the sandboxed inspection of an upload
 * bounds their time.
 */
public final class TorchScriptPolicy {

	/**
	 * Bounds on the TorchScript source read (a traced ResNet-50 has ~200 KB in files of
	 * under 10 KB), which also bound the memory the analysis takes.
	 */
	static final long MAX_CODE_BYTES = 8L << 20;

	public static final long MAX_FILE_BYTES = 1L << 20;

	/** Bound on the pickles scanned for C++ class references. */
	static final long MAX_PICKLE_BYTES = 256L << 20;

	static final int MAX_ENTRIES = 200_000;

	/** Refusals named in a verdict; the rest are counted. */
	static final int MAX_REPORTED = 20;

	/** {@code aten::} operators a backbone may use: pure tensor, scalar and list math. */
	static final Set<String> ATEN = Set.of(
			// convolution, linear layers, normalisation
			"_convolution", "convolution", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
			"conv_transpose3d", "linear", "matmul", "mm", "bmm", "addmm", "baddbmm", "einsum", "batch_norm",
			"instance_norm", "layer_norm", "group_norm", "native_layer_norm", "rms_norm", "embedding",
			"scaled_dot_product_attention",
			// pooling, resampling, padding
			"max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d",
			"avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
			"adaptive_max_pool2d", "upsample_nearest1d", "upsample_nearest2d", "upsample_bilinear2d",
			"upsample_bicubic2d", "pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
			"replication_pad2d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
			"unfold", "im2col",
			// activations, dropout (random but harmless)
			"relu", "relu_", "relu6", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
			"selu_", "celu", "celu_", "gelu", "silu", "silu_", "mish", "mish_", "sigmoid", "sigmoid_", "tanh", "tanh_",
			"hardsigmoid", "hardsigmoid_", "hardswish", "hardswish_", "softplus", "softmax", "log_softmax", "prelu",
			"threshold", "threshold_", "glu", "logsigmoid", "dropout", "dropout_", "feature_dropout",
			"feature_dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_",
			"bernoulli", "bernoulli_", "rand", "randn", "rand_like", "randn_like", "normal_", "uniform_",
			// arithmetic, comparison, logic, elementwise math
			"add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "floor_divide", "floordiv", "remainder",
			"fmod", "pow", "pow_", "neg", "abs", "sqrt", "rsqrt", "exp", "log", "log2", "log1p", "expm1", "sin", "cos",
			"erf", "clamp", "clamp_", "clamp_min", "clamp_min_", "clamp_max", "clip", "maximum", "minimum",
			"reciprocal", "sign", "floor", "ceil", "round", "trunc", "frac", "lerp", "addcmul", "addcdiv", "square",
			"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not", "bitwise_and", "bitwise_or",
			"bitwise_not", "where", "masked_fill", "masked_fill_", "isnan", "isfinite", "__and__", "__or__", "__xor__",
			"__not__", "__is__", "__isnot__", "__contains__", "__getitem__", "__derive_index", "__range_length",
			"__round_to_zero_floordiv", "Int", "Float", "Bool", "ScalarImplicit", "IntImplicit", "FloatImplicit",
			// reductions
			"sum", "mean", "std", "var", "norm", "linalg_vector_norm", "amax", "amin", "max", "min", "argmax", "argmin",
			"prod", "cumsum", "all", "any", "topk", "sort", "argsort",
			// shapes, indexing, creation, conversion
			"size", "dim", "numel", "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "permute",
			"transpose", "transpose_", "t", "contiguous", "squeeze", "squeeze_", "unsqueeze", "unsqueeze_", "expand",
			"expand_as", "repeat", "repeat_interleave", "tile", "cat", "concat", "stack", "chunk", "split",
			"split_with_sizes", "tensor_split", "unbind", "narrow", "slice", "select", "index", "index_select",
			"index_put_", "gather", "scatter", "roll", "flip", "tril", "triu", "diagonal", "movedim", "zeros", "ones",
			"full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "new_zeros", "new_ones", "new_full",
			"new_empty", "arange", "linspace", "tensor", "scalar_tensor", "as_tensor", "to", "type_as", "detach",
			"detach_", "clone", "copy_", "fill_", "zero_", "requires_grad_", "item", "is_floating_point",
			"is_contiguous", "stride", "numpy_T", "_set_item", "_unwrap_optional", "_shape_as_tensor",
			"_size_if_not_equal", "_assert", "broadcast_tensors",
			// lists, dicts, strings, ints
			"len", "append", "extend", "insert", "pop", "keys", "values", "items", "count", "list", "copy", "reverse",
			"clear", "format", "str", "startswith", "endswith", "join", "__upsample_calculate_output_size", "dict",
			"gcd", "divmod");

	/** {@code prim::} operators a backbone may name ({@code ops.prim.<op>}). */
	static final Set<String> PRIM = Set.of("NumToTensor", "RaiseException", "device", "dtype", "requires_grad",
			"is_cuda", "is_cpu", "layout", "shape", "data", "min", "max", "abs", "unchecked_unwrap_optional",
			"unchecked_cast", "Uninitialized", "TupleIndex", "TupleUnpack", "tolist", "isinstance");

	/** Tensor and device properties, which TorchScript maps to pure prim::/aten:: ops. */
	static final Set<String> PROPERTIES = Set.of("dtype", "device", "shape", "is_cuda", "is_cpu", "requires_grad",
			"layout", "ndim", "T", "mT", "data", "is_quantized", "is_sparse", "is_mkldnn", "is_meta", "is_leaf", "type",
			"index", "training");

	/** Global names other than operators: builtins, constants and namespaces. */
	static final Set<String> BUILTINS = Set.of("int", "float", "bool", "str", "complex", "len", "range", "min", "max",
			"abs", "round", "sum", "all", "any", "divmod", "pow", "tuple", "list", "dict", "enumerate", "zip",
			"isinstance", "annotate", "unchecked_cast", "uninitialized", "getattr", "AssertionError", "inf", "nan",
			"infj", "nanj", "torch", "ops", "CONSTANTS", "__torch__", "op_version_set");

	/** Type names in annotations. */
	static final Set<String> TYPES = Set.of("Tensor", "Optional", "List", "Tuple", "Dict", "Final", "NoneType", "Any",
			"Device", "Union", "Module", "NamedTuple", "Enum", "Interface", "ModuleInterface", "number", "Scalar",
			"Layout", "ScalarType", "MemoryFormat");

	static final Set<String> KEYWORDS = Set.of("if", "elif", "else", "for", "while", "in", "not", "and", "or", "is",
			"return", "pass", "break", "continue", "True", "False", "None", "raise", "assert", "del", "def", "class");

	/**
	 * TorchScript's own globals that are not allowed, with the operator they stand for;
	 * code may not use them, nor bind local variables of these names (a local bound only
	 * on a branch never taken would leave the global visible after it).
	 */
	static final Map<String, String> REFUSED_GLOBALS = Map.ofEntries(Map.entry("print", "prim::Print"),
			Map.entry("fork", "prim::fork"), Map.entry("awaitable", "prim::awaitable"),
			Map.entry("hasattr", "prim::HasAttr"), Map.entry("hash", "aten::hash"), Map.entry("id", "prim::id"),
			Map.entry("hex", "aten::hex"), Map.entry("oct", "aten::oct"), Map.entry("ord", "aten::ord"),
			Map.entry("chr", "aten::chr"), Map.entry("bin", "aten::bin"), Map.entry("rangelist", "prim::rangelist"),
			Map.entry("sorted", "aten::sorted"), Map.entry("_to_tensor", "prim::NumToTensor"));

	/** TorchBind: C++ classes compiled into libtorch, outside what the source shows. */
	/**
	 * The classes this one runs on, for whoever copies it somewhere of its own (the
	 * artifact's class jar).
	 */
	public static final List<Class<?>> IMPLEMENTATION = List.of(TorchScriptLexer.class, TorchScriptAnalysis.class);

	static final String CPP_CLASSES = "__torch__.torch.classes";

	private TorchScriptPolicy() {
	}

	/**
	 * Checks a TorchScript file against the allow-list.
	 * @throws UnsafeTorchScriptException naming what is not allowed
	 * @throws InvalidBackboneException if it cannot be read as a TorchScript archive
	 */
	public static void check(Path file) {
		List<String> refused;
		try {
			refused = refusals(file);
		}
		catch (IOException ex) {
			throw new InvalidBackboneException("Not a readable TorchScript file: " + ex.getMessage(), ex);
		}
		if (!refused.isEmpty()) {
			throw new UnsafeTorchScriptException("The TorchScript code uses what backbones may not: "
					+ String.join(", ", refused) + ". Backbones may only compute on tensors (aten:: and prim:: "
					+ "operators of convolutions, normalisation, pooling, activations, arithmetic and shapes); file, "
					+ "network, process, printing and custom operators, C++ classes and builtins outside that list "
					+ "are refused.", refused);
		}
	}

	/** What the file uses that is not allowed; empty when it may be loaded. */
	static List<String> refusals(Path file) throws IOException {
		checkMagic(file);
		Set<String> refused = new LinkedHashSet<>();
		Map<String, String> sources = new LinkedHashMap<>();
		try (ZipFile zip = new ZipFile(file.toFile())) {
			Set<String> names = new HashSet<>();
			long codeBytes = 0;
			long pickleBytes = 0;
			int count = 0;
			Enumeration<? extends ZipEntry> entries = zip.entries();
			while (entries.hasMoreElements()) {
				ZipEntry entry = entries.nextElement();
				if (++count > MAX_ENTRIES) {
					throw new IOException("more than " + MAX_ENTRIES + " archive entries");
				}
				// libtorch finds entries by name ignoring case: two that differ only in
				// case
				// could show this class one file and libtorch another
				String lower = entry.getName().toLowerCase(Locale.ROOT);
				if (!names.add(lower)) {
					refused.add("duplicate archive entry " + entry.getName());
				}
				if (lower.endsWith("model.json")) {
					refused.add("the legacy TorchScript format (" + entry.getName() + ")");
				}
				if (lower.endsWith(".py")) {
					byte[] code = read(zip, entry, Math.min(MAX_FILE_BYTES, MAX_CODE_BYTES - codeBytes),
							"TorchScript code");
					codeBytes += code.length;
					sources.put(entry.getName(), new String(code, StandardCharsets.ISO_8859_1));
				}
				else if (lower.endsWith(".pkl")) {
					byte[] pickle = read(zip, entry, MAX_PICKLE_BYTES - pickleBytes, "pickled data");
					pickleBytes += pickle.length;
					if (indexOf(pickle, CPP_CLASSES.getBytes(StandardCharsets.US_ASCII)) >= 0) {
						refused.add(CPP_CLASSES + ".* (C++ classes, in " + entry.getName() + ")");
					}
				}
			}
		}
		if (sources.isEmpty()) {
			throw new IOException("no TorchScript code (code/*.py) in the archive");
		}
		new TorchScriptAnalysis(sources, refused).run();
		List<String> list = new ArrayList<>(refused);
		if (list.size() > MAX_REPORTED) {
			int more = list.size() - MAX_REPORTED;
			list = new ArrayList<>(list.subList(0, MAX_REPORTED));
			list.add("… " + more + " more");
		}
		return list;
	}

	private static void checkMagic(Path file) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			byte[] head = in.readNBytes(8);
			if (head.length < 8 || head[0] != 'P' || head[1] != 'K' || head[2] != 3 || head[3] != 4) {
				throw new IOException("not the zip archive torch.jit.save writes");
			}
			// libtorch loads a file with this mark as a flatbuffer mobile module, whose
			// bytecode this class does not read
			if (head[4] == 'P' && head[5] == 'T' && head[6] == 'M' && head[7] == 'F') {
				throw new IOException("a flatbuffer (mobile) module, not a TorchScript archive");
			}
		}
	}

	private static byte[] read(ZipFile zip, ZipEntry entry, long budget, String what) throws IOException {
		try (InputStream in = zip.getInputStream(entry)) {
			byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, Math.max(0, budget) + 1));
			if (data.length > budget) {
				throw new IOException("more " + what + " than this service reads (" + entry.getName() + ")");
			}
			return data;
		}
	}

	private static int indexOf(byte[] data, byte[] pattern) {
		outer: for (int i = 0; i <= data.length - pattern.length; i++) {
			for (int j = 0; j < pattern.length; j++) {
				if (data[i + j] != pattern[j]) {
					continue outer;
				}
			}
			return i;
		}
		return -1;
	}

}
