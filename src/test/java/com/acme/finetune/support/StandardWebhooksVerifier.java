package com.acme.finetune.support;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A webhook receiver's verification, written from the Standard Webhooks specification and
 * sharing no code with the service: the secret is {@code whsec_<base64 key>}, the signed
 * content {@code <webhook-id>.<webhook-timestamp>.<raw body>}, the
 * {@code webhook-signature} header a space-separated list of
 * {@code v1,<base64 HMAC-SHA256>} of which one must match, and a timestamp more than the
 * tolerance away from now is refused, so a captured message cannot be replayed later.
 */
public final class StandardWebhooksVerifier {

	public static final Duration TOLERANCE = Duration.ofMinutes(5);

	private final byte[] key;

	private final Clock clock;

	public StandardWebhooksVerifier(String secret, Clock clock) {
		if (!secret.startsWith("whsec_")) {
			throw new IllegalArgumentException("Standard Webhooks secrets start with whsec_");
		}
		this.key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
		this.clock = clock;
	}

	public StandardWebhooksVerifier(String secret) {
		this(secret, Clock.systemUTC());
	}

	/**
	 * Verifies a message.
	 * @param headers the request's headers, names in lower case
	 * @param body the raw body as received
	 * @throws IllegalArgumentException with the reason when the message is not authentic
	 * or too old
	 */
	public void verify(Map<String, String> headers, byte[] body) {
		String id = required(headers, "webhook-id");
		String timestamp = required(headers, "webhook-timestamp");
		String signatures = required(headers, "webhook-signature");
		Instant sent = Instant.ofEpochSecond(Long.parseLong(timestamp));
		Instant now = this.clock.instant();
		if (sent.isBefore(now.minus(TOLERANCE)) || sent.isAfter(now.plus(TOLERANCE))) {
			throw new IllegalArgumentException("timestamp " + timestamp + " is outside the tolerance");
		}
		byte[] expected = hmac((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8), body);
		for (String signature : signatures.split(" ")) {
			String[] parts = signature.split(",", 2);
			if (parts.length == 2 && parts[0].equals("v1")
					&& MessageDigest.isEqual(expected, Base64.getDecoder().decode(parts[1]))) {
				return;
			}
		}
		throw new IllegalArgumentException("no signature matches");
	}

	/** The v1 signature of a message, for checking against the specification's vector. */
	public String sign(String id, long timestamp, byte[] body) {
		return "v1," + Base64.getEncoder()
			.encodeToString(hmac((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8), body));
	}

	private byte[] hmac(byte[] prefix, byte[] body) {
		try {
			Mac mac = Mac.getInstance("HmacSHA256");
			mac.init(new SecretKeySpec(this.key, "HmacSHA256"));
			mac.update(prefix);
			return mac.doFinal(body);
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static String required(Map<String, String> headers, String name) {
		String value = headers.get(name);
		if (value == null || value.isEmpty()) {
			throw new IllegalArgumentException("missing " + name);
		}
		return value;
	}

}
