package com.acme.finetune.training;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
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

	/**
	 * Deeper nesting is no backbone's and would make libtorch's parser recurse deeply.
	 */
	static final int MAX_NESTING = 100;

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

	/** The methods tracing names a submodule's calls: forward, forward1, ... */
	private static final Pattern FORWARD = Pattern.compile("forward(__)?\\d*");

	private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

	private static final Pattern CONSTANT = Pattern.compile("c\\d+");

	private static final Pattern TYPE_COMMENT = Pattern.compile("#\\s*type\\s*:");

	private static final Pattern CLASS_TYPE = Pattern.compile("__torch__(\\.\\w+)+");

	/** TorchBind: C++ classes compiled into libtorch, outside what the source shows. */
	private static final String CPP_CLASSES = "__torch__.torch.classes";

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
		new Analysis(sources, refused).run();
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

	enum Kind {

		IDENT, NUMBER, STRING, OP

	}

	record Token(Kind kind, String text, int line) {

		boolean is(String op) {
			return this.kind == Kind.OP && this.text.equals(op);
		}

		boolean isIdent(String name) {
			return this.kind == Kind.IDENT && this.text.equals(name);
		}

	}

	/** A logical line: one statement, its indentation and its tokens. */
	record Line(int indent, List<Token> tokens) {
	}

	/**
	 * Splits TorchScript source into logical lines of tokens, the way TorchScript's lexer
	 * does for everything this policy relies on: strings (1 or 3 quotes, backslash
	 * escapes, no newline in a single-quoted one), comments, numbers, line joining inside
	 * brackets and after a backslash. Characters that lexer might read differently (tabs,
	 * carriage returns, other control characters, non-ASCII outside strings) are refused
	 * rather than guessed at.
	 */
	static List<Line> lex(String source, String file) throws IOException {
		List<Line> lines = new ArrayList<>();
		List<Token> current = new ArrayList<>();
		int depth = 0;
		int indent = 0;
		int line = 1;
		boolean lineStart = true;
		int n = source.length();
		int i = 0;
		while (i < n) {
			char c = source.charAt(i);
			if (lineStart && depth == 0 && current.isEmpty()) {
				int j = i;
				while (j < n && source.charAt(j) == ' ') {
					j++;
				}
				indent = j - i;
				i = j;
				lineStart = false;
				continue;
			}
			if (c == '\n') {
				line++;
				if (depth == 0) {
					if (!current.isEmpty()) {
						lines.add(new Line(indent, current));
						current = new ArrayList<>();
					}
					lineStart = true;
				}
				i++;
			}
			else if (c == ' ') {
				i++;
			}
			else if (c == '#') {
				int start = i;
				while (i < n && source.charAt(i) != '\n') {
					// where a comment ends must not be a matter of opinion
					if (source.charAt(i) < ' ') {
						throw new IOException(String.format("control character U+%04X in a comment in %s line %d",
								(int) source.charAt(i), file, line));
					}
					i++;
				}
				// TorchScript parses "# type: ..." comments as annotations
				if (TYPE_COMMENT.matcher(source.substring(start, i)).lookingAt()) {
					throw new IOException("a type comment in " + file + " line " + line);
				}
			}
			else if (c == '\\' && i + 1 < n && source.charAt(i + 1) == '\n') {
				i += 2;
				line++;
			}
			else if (c == '"' || c == '\'') {
				int end = stringEnd(source, i, file, line);
				String text = source.substring(i, end);
				line += (int) text.chars().filter((ch) -> ch == '\n').count();
				current.add(new Token(Kind.STRING, text, line));
				i = end;
			}
			else if (Character.isLetter(c) && c < 128 || c == '_') {
				int j = i + 1;
				while (j < n && (isAsciiLetterOrDigit(source.charAt(j)) || source.charAt(j) == '_')) {
					j++;
				}
				current.add(new Token(Kind.IDENT, source.substring(i, j), line));
				i = j;
			}
			else if (c >= '0' && c <= '9' || c == '.' && i + 1 < n && Character.isDigit(source.charAt(i + 1))) {
				int j = numberEnd(source, i, file, line);
				current.add(new Token(Kind.NUMBER, source.substring(i, j), line));
				i = j;
			}
			else if (c == ';' && depth == 0) {
				if (!current.isEmpty()) {
					lines.add(new Line(indent, current));
					current = new ArrayList<>();
				}
				i++;
			}
			else {
				String op = operator(source, i);
				if (op == null) {
					throw new IOException(String.format("unexpected character U+%04X outside a string in %s line %d",
							(int) c, file, line));
				}
				if (op.equals("(") || op.equals("[") || op.equals("{")) {
					if (++depth > MAX_NESTING) {
						throw new IOException("brackets nested deeper than " + MAX_NESTING + " in " + file);
					}
				}
				else if (op.equals(")") || op.equals("]") || op.equals("}")) {
					depth = Math.max(0, depth - 1);
				}
				current.add(new Token(Kind.OP, op, line));
				i += op.length();
			}
		}
		if (!current.isEmpty()) {
			lines.add(new Line(indent, current));
		}
		return lines;
	}

	private static boolean isAsciiLetterOrDigit(char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	}

	private static int stringEnd(String s, int start, String file, int line) throws IOException {
		char quote = s.charAt(start);
		int quotes = s.startsWith(String.valueOf(quote).repeat(3), start) ? 3 : 1;
		String close = String.valueOf(quote).repeat(quotes);
		int end = start + quotes;
		while (end < s.length() && !s.startsWith(close, end)) {
			if (s.charAt(end) == '\n' && quotes == 1) {
				throw new IOException("unterminated string in " + file + " line " + line);
			}
			if (s.charAt(end) == '\\') {
				end++;
			}
			end++;
		}
		if (end >= s.length()) {
			throw new IOException("unterminated string in " + file + " line " + line);
		}
		return end + quotes;
	}

	/** Decimal numbers as strtod reads them (TorchScript's lexer), plus 'j'. */
	private static int numberEnd(String s, int start, String file, int line) throws IOException {
		int j = start;
		int n = s.length();
		if (s.startsWith("0x", j) || s.startsWith("0X", j)) {
			throw new IOException("hexadecimal number in " + file + " line " + line);
		}
		while (j < n && Character.isDigit(s.charAt(j))) {
			j++;
		}
		if (j < n && s.charAt(j) == '.') {
			j++;
			while (j < n && Character.isDigit(s.charAt(j))) {
				j++;
			}
		}
		if (j < n && (s.charAt(j) == 'e' || s.charAt(j) == 'E')) {
			int k = j + 1;
			if (k < n && (s.charAt(k) == '+' || s.charAt(k) == '-')) {
				k++;
			}
			if (k < n && Character.isDigit(s.charAt(k))) {
				j = k;
				while (j < n && Character.isDigit(s.charAt(j))) {
					j++;
				}
			}
		}
		if (j < n && s.charAt(j) == 'j') {
			j++;
		}
		return j;
	}

	private static final List<String> OPERATORS = List.of("**=", "//=", ">>=", "<<=", "->", "==", "!=", "<=", ">=",
			":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>", "+", "-", "*", "/", "%",
			"@", "&", "|", "^", "~", "<", ">", "=", ".", ",", ":", "(", ")", "[", "]", "{", "}");

	private static String operator(String s, int i) {
		for (String op : OPERATORS) {
			if (s.startsWith(op, i)) {
				return op;
			}
		}
		return null;
	}

	/** The classes of the archive: their attributes (with declared types) and methods. */
	private record ClassInfo(Map<String, String> attributes, Set<String> methods) {

		boolean has(String member) {
			return this.attributes.containsKey(member) || this.methods.contains(member);
		}

	}

	/** A function being checked: its class (null for a free function) and locals. */
	private record Scope(String classKey, String self, Set<String> locals) {

		static final Scope NONE = new Scope(null, null, Set.of());

	}

	/** The two passes over all code files: collect classes, then check every name. */
	private static final class Analysis {

		private final Map<String, String> sources;

		private final Map<String, ClassInfo> classes = new HashMap<>();

		private final Set<String> refused;

		Analysis(Map<String, String> sources, Set<String> refused) {
			this.sources = sources;
			this.refused = refused;
		}

		/** Lexes each file twice rather than holding every file's tokens at once. */
		void run() throws IOException {
			for (Map.Entry<String, String> source : this.sources.entrySet()) {
				collectClasses(source.getKey(), lex(source.getValue(), source.getKey()));
			}
			for (Map.Entry<String, String> source : this.sources.entrySet()) {
				checkFile(source.getKey(), lex(source.getValue(), source.getKey()));
			}
		}

		/**
		 * {@code x/code/__torch__/a/b.py} holds the qualified names
		 * {@code __torch__.a.b.<name>}; the prefix is kept in lower case because libtorch
		 * finds the file ignoring case.
		 */
		private static String qualifier(String entry) {
			String lower = entry.toLowerCase(Locale.ROOT);
			int code = lower.startsWith("code/") ? 0 : lower.indexOf("/code/") + 1;
			String path = (code > 0 || lower.startsWith("code/")) ? lower.substring(code + "code/".length()) : lower;
			return path.substring(0, path.length() - ".py".length()).replace('/', '.');
		}

		/** The key of a class type named in an annotation, or null if not a class. */
		private static String classKey(String type) {
			if (!CLASS_TYPE.matcher(type).matches()) {
				return null;
			}
			int dot = type.lastIndexOf('.');
			return type.substring(0, dot).toLowerCase(Locale.ROOT) + type.substring(dot);
		}

		private void collectClasses(String file, List<Line> lines) {
			String qualifier = qualifier(file);
			ClassInfo current = null;
			int classIndent = -1;
			int defIndent = -1;
			for (Line line : lines) {
				List<Token> t = line.tokens();
				if (defIndent >= 0 && line.indent() > defIndent) {
					continue;
				}
				defIndent = -1;
				if (current != null && line.indent() <= classIndent) {
					current = null;
				}
				if (t.get(0).isIdent("class") && t.size() > 1 && current == null) {
					current = new ClassInfo(new HashMap<>(), new HashSet<>());
					classIndent = line.indent();
					this.classes.put(qualifier + "." + t.get(1).text(), current);
				}
				else if (t.get(0).isIdent("def")) {
					if (current != null && t.size() > 1) {
						current.methods().add(t.get(1).text());
					}
					defIndent = line.indent();
				}
				else if (current != null) {
					declaration(t, current);
				}
			}
		}

		/** {@code name : Type [= value]} or {@code __annotations__["name"] = Type}. */
		private static void declaration(List<Token> t, ClassInfo info) {
			if (t.size() >= 6 && t.get(0).isIdent("__annotations__") && t.get(1).is("[")
					&& t.get(2).kind() == Kind.STRING && t.get(3).is("]") && t.get(4).is("=")) {
				info.attributes().put(unquote(t.get(2).text()), join(t, 5, t.size()));
			}
			else if (t.size() >= 2 && t.get(0).kind() == Kind.IDENT && (t.get(1).is(":") || t.get(1).is("="))) {
				int end = t.size();
				for (int i = 2; i < t.size(); i++) {
					if (t.get(i).is("=")) {
						end = i;
						break;
					}
				}
				info.attributes().put(t.get(0).text(), t.get(1).is(":") ? join(t, 2, end) : "");
			}
		}

		private void checkFile(String file, List<Line> lines) {
			String qualifier = qualifier(file);
			Deque<int[]> blocks = new ArrayDeque<>(); // {indent, kind: 0 class, 1 def}
			String classKey = null;
			Scope scope = Scope.NONE;
			for (int index = 0; index < lines.size(); index++) {
				Line line = lines.get(index);
				while (!blocks.isEmpty() && line.indent() <= blocks.peek()[0]) {
					int[] closed = blocks.pop();
					if (closed[1] == 0) {
						classKey = null;
					}
					else {
						scope = Scope.NONE;
					}
				}
				List<Token> t = line.tokens();
				Token first = t.get(0);
				boolean inDef = !blocks.isEmpty() && blocks.peek()[1] == 1;
				boolean inClass = !blocks.isEmpty() && blocks.peek()[1] == 0;
				if (first.isIdent("class")) {
					if (!blocks.isEmpty()) {
						this.refused.add("nested class definition");
					}
					classKey = (t.size() > 1) ? qualifier + "." + t.get(1).text() : null;
					blocks.push(new int[] { line.indent(), 0 });
					checkTokens(t, 2, t.size(), Scope.NONE);
				}
				else if (first.isIdent("def")) {
					if (inDef) {
						this.refused.add("nested function definition");
					}
					scope = defScope(lines, index, inClass ? classKey : null);
					blocks.push(new int[] { line.indent(), 1 });
					checkDefLine(t, scope);
				}
				else if (inDef) {
					checkTokens(t, 0, t.size(), scope);
				}
				else if (inClass) {
					checkTokens(t, declarationEnd(t), t.size(), Scope.NONE);
				}
				else if (!first.isIdent("import") && !(first.isIdent("op_version_set") && t.size() == 3)) {
					checkTokens(t, 0, t.size(), Scope.NONE);
				}
			}
		}

		/** Where a class-level declaration's name ends and its type/value begins. */
		private static int declarationEnd(List<Token> t) {
			if (t.size() >= 5 && t.get(0).isIdent("__annotations__") && t.get(1).is("[")) {
				return 4;
			}
			return (t.get(0).kind() == Kind.IDENT) ? 1 : 0;
		}

		/** A def's parameters and every name it binds, from its header and body. */
		private Scope defScope(List<Line> lines, int index, String classKey) {
			Line header = lines.get(index);
			List<Token> t = header.tokens();
			Set<String> locals = new HashSet<>();
			List<String> params = parameters(t);
			locals.addAll(params);
			int bodyStart = headerEnd(t);
			bind(t, bodyStart, t.size(), locals);
			for (int i = index + 1; i < lines.size() && lines.get(i).indent() > header.indent(); i++) {
				List<Token> body = lines.get(i).tokens();
				bind(body, 0, body.size(), locals);
			}
			for (String name : locals) {
				if (REFUSED_GLOBALS.containsKey(name)) {
					this.refused.add("a local variable named like the builtin '" + name + "'");
				}
			}
			String self = (classKey != null && !params.isEmpty()) ? params.get(0) : null;
			return new Scope(classKey, self, locals);
		}

		/** {@code def name(a: T, b: T = x) -> R:} → [a, b]. */
		private static List<String> parameters(List<Token> t) {
			List<String> params = new ArrayList<>();
			if (t.size() < 3 || !t.get(2).is("(")) {
				return params;
			}
			int depth = 0;
			boolean expectName = true;
			for (int i = 2; i < t.size(); i++) {
				Token token = t.get(i);
				if (token.is("(") || token.is("[") || token.is("{")) {
					depth++;
					if (depth == 1) {
						expectName = true;
					}
					continue;
				}
				if (token.is(")") || token.is("]") || token.is("}")) {
					depth--;
					if (depth == 0) {
						break;
					}
					continue;
				}
				if (depth == 1 && token.is(",")) {
					expectName = true;
				}
				else if (depth == 1 && expectName) {
					if (token.kind() == Kind.IDENT) {
						params.add(token.text());
					}
					expectName = false;
				}
			}
			return params;
		}

		/** The index after the colon that ends a def header (its inline body follows). */
		private static int headerEnd(List<Token> t) {
			int depth = 0;
			for (int i = 0; i < t.size(); i++) {
				Token token = t.get(i);
				if (token.is("(") || token.is("[") || token.is("{")) {
					depth++;
				}
				else if (token.is(")") || token.is("]") || token.is("}")) {
					depth--;
				}
				else if (depth == 0 && token.is(":")) {
					return i + 1;
				}
			}
			return t.size();
		}

		/**
		 * Names a statement binds: assignment targets (also annotated and walrus ones)
		 * and loop variables, comprehensions included.
		 */
		private static void bind(List<Token> t, int from, int to, Set<String> locals) {
			int lastAssign = -1;
			int depth = 0;
			for (int i = from; i < to; i++) {
				Token token = t.get(i);
				if (token.is("(") || token.is("[") || token.is("{")) {
					depth++;
				}
				else if (token.is(")") || token.is("]") || token.is("}")) {
					depth--;
				}
				else if (depth == 0 && token.is("=")) {
					lastAssign = i;
				}
				else if (token.is(":=") && i > from && t.get(i - 1).kind() == Kind.IDENT) {
					locals.add(t.get(i - 1).text());
				}
				else if (token.isIdent("for")) {
					for (int j = i + 1; j < to && !t.get(j).isIdent("in"); j++) {
						if (t.get(j).kind() == Kind.IDENT && !t.get(j - 1).is(".")) {
							locals.add(t.get(j).text());
						}
					}
				}
			}
			// generous: a name counted as local that is not one only lets a name through
			// that TorchScript itself would resolve; the dangerous globals may not be
			// bound
			for (int i = from; i < lastAssign; i++) {
				Token token = t.get(i);
				if (token.kind() == Kind.IDENT && (i == from || !t.get(i - 1).is("."))) {
					locals.add(token.text());
				}
			}
		}

		private void checkDefLine(List<Token> t, Scope scope) {
			// the name, then the parameters' names are bound; their types and defaults
			// are
			// checked like any expression
			checkTokens(t, 2, t.size(), scope);
		}

		private void checkTokens(List<Token> t, int from, int to, Scope scope) {
			for (int i = from; i < to; i++) {
				Token token = t.get(i);
				if (token.kind() != Kind.IDENT) {
					continue;
				}
				if (i > from && t.get(i - 1).is(".")) {
					attribute(receiver(t, from, i - 2), token.text(), scope, i + 1 < to && t.get(i + 1).is("."));
					continue;
				}
				String name = token.text();
				if (i + 1 < to && t.get(i + 1).is("=")) {
					// an assignment target (bound, see bind) or a keyword argument's name
					continue;
				}
				if (REFUSED_GLOBALS.containsKey(name)) {
					this.refused.add(REFUSED_GLOBALS.get(name));
				}
				else if (name.equals("getattr")) {
					getattr(t, i, to, from, scope);
				}
				else if (name.equals("torch") || name.equals("ops") || name.equals("CONSTANTS")
						|| name.equals("__torch__")) {
					if (i + 1 >= to || !t.get(i + 1).is(".")) {
						this.refused.add("'" + name + "' used as a value");
					}
				}
				else if (!KEYWORDS.contains(name) && !BUILTINS.contains(name) && !TYPES.contains(name)
						&& !scope.locals().contains(name)) {
					this.refused.add(name);
				}
			}
		}

		/** {@code getattr(receiver, "name")}: an attribute with a literal name. */
		private void getattr(List<Token> t, int i, int to, int from, Scope scope) {
			int close = (i + 1 < to && t.get(i + 1).is("(")) ? matching(t, i + 1, to) : -1;
			int comma = -1;
			int depth = 0;
			for (int j = i + 2; j < close; j++) {
				Token token = t.get(j);
				if (token.is("(") || token.is("[") || token.is("{")) {
					depth++;
				}
				else if (token.is(")") || token.is("]") || token.is("}")) {
					depth--;
				}
				else if (depth == 0 && token.is(",")) {
					comma = j;
					break;
				}
			}
			int nameEnd = (close > 0 && t.get(close - 1).is(",")) ? close - 1 : close;
			if (comma < 0 || nameEnd != comma + 2 || t.get(comma + 1).kind() != Kind.STRING
					|| t.get(comma + 1).text().contains("\\")) {
				this.refused.add("getattr without a plain literal name");
				return;
			}
			List<String> chain = chain(t, i + 2, comma);
			attribute(chain, unquote(t.get(comma + 1).text()), scope, false);
		}

		/**
		 * Checks {@code receiver.name}. {@code receiver} is the dotted chain of names
		 * before it ({@code ["self", "layer1"]}) or null when it is another expression.
		 */
		private void attribute(List<String> receiver, String name, Scope scope, boolean continues) {
			if (receiver == null) {
				allowedOnAnyValue(name);
				return;
			}
			String head = receiver.get(0);
			switch (head) {
				case "torch" -> {
					if (receiver.size() == 1 && !ATEN.contains(name)) {
						this.refused.add("aten::" + name);
					}
				}
				case "ops" -> {
					if (receiver.size() == 2) {
						String op = receiver.get(1) + "::" + name;
						boolean allowed = receiver.get(1).equals("aten") ? ATEN.contains(name)
								: receiver.get(1).equals("prim") && PRIM.contains(name);
						if (!allowed) {
							this.refused.add(op);
						}
					}
					else if (receiver.size() > 2) {
						this.refused.add("ops." + String.join(".", receiver.subList(1, receiver.size())) + "." + name);
					}
				}
				case "CONSTANTS" -> {
					if (receiver.size() > 1 || !CONSTANT.matcher(name).matches()) {
						this.refused.add("CONSTANTS." + name);
					}
				}
				case "__torch__" -> {
					String qualified = String.join(".", receiver) + "." + name;
					if (!continues && qualified.toLowerCase(Locale.ROOT).startsWith(CPP_CLASSES)) {
						this.refused.add(qualified + " (a C++ class)");
					}
				}
				default -> {
					ClassInfo type = head.equals(scope.self()) ? resolve(scope.classKey(), receiver) : null;
					if (type == null || !type.has(name)) {
						allowedOnAnyValue(name);
					}
				}
			}
		}

		/**
		 * An attribute of a value that may not be one of the archive's classes: on a
		 * tensor, list or string TorchScript resolves {@code x.name(...)} to
		 * {@code aten::name}, and on a class without that member it does the same.
		 */
		private void allowedOnAnyValue(String name) {
			boolean allowed = ATEN.contains(name) || PROPERTIES.contains(name) || FORWARD.matcher(name).matches()
					|| !IDENTIFIER.matcher(name).matches();
			if (!allowed) {
				this.refused.add("aten::" + name);
			}
		}

		/** The class {@code self.a.b} has, following declared attribute types. */
		private ClassInfo resolve(String classKey, List<String> chain) {
			ClassInfo type = (classKey != null) ? this.classes.get(classKey) : null;
			for (int i = 1; i < chain.size() && type != null; i++) {
				String declared = type.attributes().get(chain.get(i));
				String key = (declared != null) ? classKey(declared) : null;
				type = (key != null) ? this.classes.get(key) : null;
			}
			return type;
		}

		/**
		 * The dotted chain of names ending at {@code t[end]} ({@code a.b.c} or
		 * {@code (a.b.c)}), or null when the receiver is any other expression: a call, a
		 * subscript, a literal.
		 */
		private static List<String> receiver(List<Token> t, int from, int end) {
			List<String> names = new ArrayList<>();
			int j = end;
			while (j >= from) {
				Token token = t.get(j);
				if (token.kind() == Kind.IDENT) {
					names.add(0, token.text());
					if (j - 1 >= from && t.get(j - 1).is(".")) {
						j -= 2;
						continue;
					}
					return names;
				}
				if (!token.is(")")) {
					return null;
				}
				int open = matchingBackwards(t, from, j);
				if (open < 0) {
					return null;
				}
				if (open - 1 >= from) {
					Token before = t.get(open - 1);
					boolean call = before.kind() == Kind.STRING || before.is(")") || before.is("]")
							|| before.kind() == Kind.IDENT && !KEYWORDS.contains(before.text());
					if (call) {
						return null;
					}
				}
				List<String> inner = chain(t, open + 1, j);
				if (inner == null) {
					return null;
				}
				names.addAll(0, inner);
				return names;
			}
			return null;
		}

		/** {@code t[from..to)} as a chain of dotted names, or null if it is not one. */
		private static List<String> chain(List<Token> t, int from, int to) {
			if (to <= from || (to - from) % 2 == 0) {
				return null;
			}
			List<String> chain = new ArrayList<>();
			for (int i = from; i < to; i++) {
				Token token = t.get(i);
				boolean name = (i - from) % 2 == 0;
				if (name && token.kind() != Kind.IDENT || !name && !token.is(".")) {
					return null;
				}
				if (name) {
					chain.add(token.text());
				}
			}
			return chain;
		}

		private static int matching(List<Token> t, int open, int to) {
			int depth = 0;
			for (int i = open; i < to; i++) {
				Token token = t.get(i);
				if (token.is("(") || token.is("[") || token.is("{")) {
					depth++;
				}
				else if (token.is(")") || token.is("]") || token.is("}")) {
					if (--depth == 0) {
						return i;
					}
				}
			}
			return -1;
		}

		private static int matchingBackwards(List<Token> t, int from, int close) {
			int depth = 0;
			for (int i = close; i >= from; i--) {
				Token token = t.get(i);
				if (token.is(")") || token.is("]") || token.is("}")) {
					depth++;
				}
				else if (token.is("(") || token.is("[") || token.is("{")) {
					if (--depth == 0) {
						return i;
					}
				}
			}
			return -1;
		}

		private static String join(List<Token> t, int from, int to) {
			StringBuilder sb = new StringBuilder();
			for (int i = from; i < to; i++) {
				sb.append(t.get(i).text());
			}
			return sb.toString();
		}

	}

	private static String unquote(String literal) {
		int quotes = (literal.length() >= 6 && (literal.startsWith("\"\"\"") || literal.startsWith("'''"))) ? 3 : 1;
		return literal.substring(quotes, literal.length() - quotes);
	}

}
