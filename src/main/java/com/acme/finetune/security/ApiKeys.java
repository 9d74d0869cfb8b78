package com.acme.finetune.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * The accepted API keys, held only as SHA-256 digests so a heap dump does not reveal
 * them. Hashing first also gives every comparison the same length, so
 * {@link MessageDigest#isEqual} runs in constant time whatever the presented key.
 */
final class ApiKeys {

	private final List<byte[]> digests;

	private ApiKeys(List<byte[]> digests) {
		this.digests = digests;
	}

	/** The keys from configuration; blanks (e.g. from {@code API_KEYS=}) are ignored. */
	static ApiKeys of(Collection<String> keys) {
		return new ApiKeys((keys != null) ? keys.stream()
			.filter((key) -> key != null && !key.isBlank())
			.map(String::strip)
			.distinct()
			.map(ApiKeys::sha256)
			.toList() : List.of());
	}

	/** Whether any key is configured, i.e. whether the API requires one. */
	boolean enabled() {
		return !this.digests.isEmpty();
	}

	int size() {
		return this.digests.size();
	}

	/** Whether the presented key is one of the accepted ones. */
	boolean matches(String presented) {
		byte[] digest = sha256(presented);
		boolean match = false;
		// no early exit: the time taken does not say which key (or whether any) matched
		for (byte[] candidate : this.digests) {
			match |= MessageDigest.isEqual(candidate, digest);
		}
		return match;
	}

	/**
	 * A name for an accepted key that does not reveal it: {@code key-} and the first 8
	 * hex digits of its SHA-256 (what audit records show until keys carry names).
	 */
	static String fingerprint(String key) {
		return "key-" + HexFormat.of().formatHex(sha256(key.strip()), 0, 4);
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
		return "ApiKeys[" + this.digests.size() + " configured]";
	}

}
