package com.acme.finetune.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.ObjectMapper;

import org.springframework.http.CacheControl;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

/**
 * Conditional requests on the JSON API. An entity tag is a strong hash of the
 * representation as JSON, so it changes exactly when what a client would read changes,
 * and every replica computes the same one.
 * <ul>
 * <li>Reads answer with {@code ETag} and {@code Cache-Control: private, no-cache}: caches
 * may keep the body but must revalidate (a job's status changes any second, a deleted
 * dataset must not be served), and {@code If-None-Match} then costs a 304 without a body;
 * Spring MVC answers it for any {@code GET} whose {@link ResponseEntity} carries an
 * {@code ETag}. {@code private}: the answer depends on the caller's API key, so no shared
 * cache keeps it.</li>
 * <li>Writes where a lost update matters (deletes, alias moves, patches) check
 * {@code If-Match} against the current representation: a mismatch is a 412
 * {@code precondition-failed} problem; no {@code If-Match} behaves as before.</li>
 * </ul>
 */
@Component
public class ETags {

	/** Mutable resources: keep, but revalidate every time. */
	public static final CacheControl REVALIDATE = CacheControl.noCache().cachePrivate();

	private final ObjectMapper json;

	public ETags(ObjectMapper json) {
		this.json = json;
	}

	/** The strong entity tag of a JSON representation, quoted. */
	public String of(Object representation) {
		return tag(this.json.writeValueAsBytes(representation));
	}

	/** The strong entity tag of a text representation (HTML, SVG), quoted. */
	public static String ofText(String representation) {
		return tag(representation.getBytes(StandardCharsets.UTF_8));
	}

	/** A 200 with the body, its {@code ETag} and {@code Cache-Control}. */
	public <T> ResponseEntity<T> ok(T body) {
		return ResponseEntity.ok().eTag(of(body)).cacheControl(REVALIDATE).body(body);
	}

	/**
	 * Checks {@code If-Match} (and, for creating writes, {@code If-None-Match: *})
	 * against the current representation.
	 * @param current the representation now, null when the resource does not exist
	 * @throws ApiException 412 {@code precondition-failed} when a condition is false
	 */
	public void check(@Nullable String ifMatch, @Nullable String ifNoneMatch, @Nullable Object current) {
		if (ifMatch != null && !ifMatch.isBlank()) {
			if (current == null) {
				throw failed("If-Match: the resource does not exist", null);
			}
			String etag = of(current);
			if (!matches(ifMatch, etag)) {
				throw failed("If-Match: the resource changed since it was read (its ETag is now " + etag
						+ "); read it again and retry", etag);
			}
		}
		if (ifNoneMatch != null && !ifNoneMatch.isBlank() && current != null) {
			String etag = of(current);
			if (ifNoneMatch.strip().equals("*") || matches(ifNoneMatch, etag)) {
				throw failed("If-None-Match: the resource already exists", etag);
			}
		}
	}

	/** Checks {@code If-Match} only; see {@link #check}. */
	public void checkIfMatch(@Nullable String ifMatch, @Nullable Object current) {
		check(ifMatch, null, current);
	}

	/** Strong comparison (RFC 9110 §13.1.1): weak tags never match. */
	static boolean matches(String header, String etag) {
		for (String candidate : header.split(",")) {
			String tag = candidate.strip();
			if (tag.equals("*") || tag.equals(etag)) {
				return true;
			}
		}
		return false;
	}

	private static ApiException failed(String detail, @Nullable String etag) {
		ApiException problem = new ApiException(ProblemType.PRECONDITION_FAILED, detail);
		if (etag != null) {
			problem.with("currentETag", etag).withHeader("ETag", etag);
		}
		return problem;
	}

	private static String tag(byte[] bytes) {
		try {
			byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
			return "\"" + Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest, 18)) + "\"";
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is part of every Java runtime", ex);
		}
	}

}
