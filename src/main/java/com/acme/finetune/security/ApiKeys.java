package com.acme.finetune.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The accepted API keys with their names and scopes, each key held only as a SHA-256
 * digest so a heap dump does not reveal it. Hashing first also gives every comparison the
 * same length, so {@link MessageDigest#isEqual} runs in constant time whatever the
 * presented key.
 * <p>
 * Configuration entries are either a plain key (named {@code key-N} by its position,
 * every scope: how keys were configured before scopes existed) or
 * {@code name:key:scope+scope}, e.g. {@code ci:s3cret:read+train}; {@code all} stands for
 * every scope. An entry with a colon must be of the second form: a typo in a scope fails
 * the start instead of silently turning the entry into an all-powerful plain key. Error
 * messages name the entry by position and name, never by its key.
 */
final class ApiKeys {

	static final String ALL = "all";

	private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

	private final List<Entry> entries;

	private ApiKeys(List<Entry> entries) {
		this.entries = entries;
	}

	/** The keys from configuration; blanks (e.g. from {@code API_KEYS=}) are ignored. */
	static ApiKeys of(Collection<String> configured) {
		List<Entry> entries = new ArrayList<>();
		Map<String, Entry> byDigest = new HashMap<>();
		int position = 0;
		for (String raw : (configured != null) ? configured : List.<String>of()) {
			if (raw == null || raw.isBlank()) {
				continue;
			}
			position++;
			Entry entry = parse(raw.strip(), position);
			String digest = HexFormat.of().formatHex(entry.digest());
			Entry sameKey = byDigest.get(digest);
			if (sameKey != null) {
				if (sameKey.plain() && entry.plain()) {
					continue; // the same plain key listed twice: harmless
				}
				throw invalid(position, entry.caller().name(),
						"carries the same key as entry '" + sameKey.caller().name() + "'");
			}
			if (entries.stream().anyMatch((e) -> e.caller().name().equals(entry.caller().name()))) {
				throw invalid(position, entry.caller().name(), "reuses a name; every key needs its own");
			}
			byDigest.put(digest, entry);
			entries.add(entry);
		}
		return new ApiKeys(List.copyOf(entries));
	}

	private static Entry parse(String entry, int position) {
		int first = entry.indexOf(':');
		if (first < 0) {
			return new Entry(sha256(entry), new ApiCaller("key-" + position, EnumSet.allOf(Scope.class)), true);
		}
		int last = entry.lastIndexOf(':');
		String name = entry.substring(0, first).strip();
		if (first == last) {
			throw invalid(position, null, "has one ':'; use name:key:scopes (plain keys cannot contain ':')");
		}
		if (!NAME.matcher(name).matches()) {
			throw invalid(position, null, "has no valid name before the first ':' (letters, digits, '.', '_', '-')");
		}
		String key = entry.substring(first + 1, last).strip();
		if (key.isEmpty()) {
			throw invalid(position, name, "has an empty key");
		}
		return new Entry(sha256(key), new ApiCaller(name, scopes(entry.substring(last + 1), position, name)), false);
	}

	private static Set<Scope> scopes(String list, int position, String name) {
		Set<Scope> scopes = EnumSet.noneOf(Scope.class);
		for (String id : list.split("\\+", -1)) {
			String trimmed = id.strip();
			if (ALL.equals(trimmed)) {
				scopes.addAll(EnumSet.allOf(Scope.class));
				continue;
			}
			Scope scope = Scope.of(trimmed);
			if (scope == null) {
				throw invalid(position, name, "has an unknown scope '" + trimmed
						+ "' (known: predict, read, train, admin, " + ALL + "; separate them with '+')");
			}
			scopes.add(scope);
		}
		return scopes;
	}

	private static IllegalArgumentException invalid(int position, String name, String problem) {
		return new IllegalArgumentException("app.security.api-keys entry #" + position
				+ ((name != null) ? " ('" + name + "')" : "") + " " + problem);
	}

	/** Whether any key is configured, i.e. whether the API requires one. */
	boolean enabled() {
		return !this.entries.isEmpty();
	}

	int size() {
		return this.entries.size();
	}

	/** The caller a presented key belongs to; empty when it is not an accepted key. */
	Optional<ApiCaller> find(String presented) {
		byte[] digest = sha256(presented);
		ApiCaller match = null;
		// no early exit: the time taken does not say which key (or whether any) matched
		for (Entry entry : this.entries) {
			if (MessageDigest.isEqual(entry.digest(), digest)) {
				match = entry.caller();
			}
		}
		return Optional.ofNullable(match);
	}

	/** Whether the presented key is one of the accepted ones. */
	boolean matches(String presented) {
		return find(presented).isPresent();
	}

	private static byte[] sha256(String value) {
		try {
			return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
		}
		catch (NoSuchAlgorithmException ex) {
			// every Java platform is required to provide SHA-256
			throw new IllegalStateException(ex);
		}
	}

	@Override
	public String toString() {
		return "ApiKeys[" + this.entries.size() + " configured]";
	}

	/** One accepted key; {@code plain} when configured without name and scopes. */
	private record Entry(byte[] digest, ApiCaller caller, boolean plain) {
	}

}
