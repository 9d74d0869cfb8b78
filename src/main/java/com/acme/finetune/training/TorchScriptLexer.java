package com.acme.finetune.training;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@link TorchScriptPolicy}'s lexer: splits TorchScript source into logical lines of
 * tokens the way TorchScript's own lexer does for everything the policy relies on.
 */
final class TorchScriptLexer {

	/**
	 * Deeper nesting is no backbone's and would make libtorch's parser recurse deeply.
	 */
	static final int MAX_NESTING = 100;

	private static final Pattern TYPE_COMMENT = Pattern.compile("#\\s*type\\s*:");

	private TorchScriptLexer() {
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

}
