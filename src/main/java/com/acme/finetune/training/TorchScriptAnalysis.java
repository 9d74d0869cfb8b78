package com.acme.finetune.training;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.acme.finetune.training.TorchScriptLexer.Kind;
import com.acme.finetune.training.TorchScriptLexer.Line;
import com.acme.finetune.training.TorchScriptLexer.Token;

import static com.acme.finetune.training.TorchScriptLexer.lex;
import static com.acme.finetune.training.TorchScriptPolicy.ATEN;
import static com.acme.finetune.training.TorchScriptPolicy.BUILTINS;
import static com.acme.finetune.training.TorchScriptPolicy.CPP_CLASSES;
import static com.acme.finetune.training.TorchScriptPolicy.KEYWORDS;
import static com.acme.finetune.training.TorchScriptPolicy.PRIM;
import static com.acme.finetune.training.TorchScriptPolicy.PROPERTIES;
import static com.acme.finetune.training.TorchScriptPolicy.REFUSED_GLOBALS;
import static com.acme.finetune.training.TorchScriptPolicy.TYPES;

/**
 * {@link TorchScriptPolicy}'s analysis of an archive's code: two passes over all code
 * files, one collecting the classes (attributes with their declared types, methods), one
 * checking every name a function reaches against the allow-lists.
 */
final class TorchScriptAnalysis {

	/** The methods tracing names a submodule's calls: forward, forward1, ... */
	private static final Pattern FORWARD = Pattern.compile("forward(__)?\\d*");

	private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

	private static final Pattern CONSTANT = Pattern.compile("c\\d+");

	private static final Pattern CLASS_TYPE = Pattern.compile("__torch__(\\.\\w+)+");

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

	private final Map<String, String> sources;

	private final Map<String, ClassInfo> classes = new HashMap<>();

	private final Set<String> refused;

	TorchScriptAnalysis(Map<String, String> sources, Set<String> refused) {
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
		if (t.size() >= 6 && t.get(0).isIdent("__annotations__") && t.get(1).is("[") && t.get(2).kind() == Kind.STRING
				&& t.get(3).is("]") && t.get(4).is("=")) {
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
	 * Names a statement binds: assignment targets (also annotated and walrus ones) and
	 * loop variables, comprehensions included.
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
	 * Checks {@code receiver.name}. {@code receiver} is the dotted chain of names before
	 * it ({@code ["self", "layer1"]}) or null when it is another expression.
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
	 * An attribute of a value that may not be one of the archive's classes: on a tensor,
	 * list or string TorchScript resolves {@code x.name(...)} to {@code aten::name}, and
	 * on a class without that member it does the same.
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

	private static String unquote(String literal) {
		int quotes = (literal.length() >= 6 && (literal.startsWith("\"\"\"") || literal.startsWith("'''"))) ? 3 : 1;
		return literal.substring(quotes, literal.length() - quotes);
	}

}
