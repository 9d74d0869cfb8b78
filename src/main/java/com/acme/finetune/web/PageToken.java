package com.acme.finetune.web;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A cursor as the client sees it: opaque, URL-safe, and tamper-evident. It names the list
 * and filter it belongs to, the order it follows and the sort keys of the last item
 * served. The MAC is a checksum with a fixed key, not a secret: it makes a changed or
 * truncated token a clean 400 instead of a silently different page; a forged one gains
 * nothing, since every value is parsed strictly and the caller may read the whole list
 * anyway.
 */
record PageToken(String list, String filter, String order, List<String> keys) {

	/** Longer tokens are refused before any decoding. */
	static final int MAX_LENGTH = 2048;

	private static final String VERSION = "1";

	private static final byte[] MAC_KEY = "finetune-page-token-v1".getBytes(StandardCharsets.US_ASCII);

	private static final int MAC_BYTES = 12;

	String encode() {
		List<String> fields = new ArrayList<>();
		fields.add(VERSION);
		fields.add(this.list);
		fields.add(this.filter);
		fields.add(this.order);
		fields.addAll(this.keys);
		StringBuilder payload = new StringBuilder();
		for (String field : fields) {
			if (!payload.isEmpty()) {
				payload.append('&');
			}
			payload.append(URLEncoder.encode(field, StandardCharsets.UTF_8));
		}
		byte[] bytes = payload.toString().getBytes(StandardCharsets.UTF_8);
		Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
		return base64.encodeToString(bytes) + "." + base64.encodeToString(mac(bytes));
	}

	/**
	 * Reads a token.
	 * @return null when the token is malformed, truncated, altered or from another
	 * version
	 */
	static PageToken decode(String token) {
		if (token.length() > MAX_LENGTH) {
			return null;
		}
		int dot = token.indexOf('.');
		if (dot < 0 || token.indexOf('.', dot + 1) >= 0) {
			return null;
		}
		try {
			Base64.Decoder base64 = Base64.getUrlDecoder();
			byte[] payload = base64.decode(token.substring(0, dot));
			byte[] mac = base64.decode(token.substring(dot + 1));
			if (!MessageDigest.isEqual(mac, mac(payload))) {
				return null;
			}
			String[] fields = new String(payload, StandardCharsets.UTF_8).split("&", -1);
			if (fields.length < 4 || !VERSION.equals(fields[0])) {
				return null;
			}
			List<String> decoded = new ArrayList<>(fields.length);
			for (String field : fields) {
				decoded.add(URLDecoder.decode(field, StandardCharsets.UTF_8));
			}
			return new PageToken(decoded.get(1), decoded.get(2), decoded.get(3),
					List.copyOf(decoded.subList(4, decoded.size())));
		}
		catch (IllegalArgumentException ex) {
			return null;
		}
	}

	private static byte[] mac(byte[] payload) {
		try {
			Mac mac = Mac.getInstance("HmacSHA256");
			mac.init(new SecretKeySpec(MAC_KEY, "HmacSHA256"));
			return Arrays.copyOf(mac.doFinal(payload), MAC_BYTES);
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException("HmacSHA256 is part of every Java runtime", ex);
		}
	}

}
