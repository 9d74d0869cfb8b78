package com.acme.finetune.web;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.http.HttpStatus;

/**
 * An error that reaches the client as an RFC 9457 problem. Capabilities throw it (or
 * subclasses) with a {@link ProblemType}, a human-readable detail and optional extra
 * members such as {@code errors}.
 */
public class ApiException extends RuntimeException {

	private final ProblemType type;

	private final HttpStatus status;

	private final Map<String, Object> properties = new LinkedHashMap<>();

	private final Map<String, String> headers = new LinkedHashMap<>();

	public ApiException(ProblemType type, String detail) {
		this(type, type.status(), detail);
	}

	public ApiException(ProblemType type, HttpStatus status, String detail) {
		super(detail);
		this.type = type;
		this.status = status;
	}

	/** Adds an extra member to the problem body, e.g. {@code errors}. */
	public ApiException with(String name, Object value) {
		this.properties.put(name, value);
		return this;
	}

	/** Adds a response header, e.g. {@code Retry-After} on a 503. */
	public ApiException withHeader(String name, String value) {
		this.headers.put(name, value);
		return this;
	}

	public Map<String, String> headers() {
		return this.headers;
	}

	public ProblemType type() {
		return this.type;
	}

	public HttpStatus status() {
		return this.status;
	}

	public Map<String, Object> properties() {
		return this.properties;
	}

	public static ApiException notFound(String what, Object id) {
		return new ApiException(ProblemType.NOT_FOUND, what + " " + id + " does not exist");
	}

	public static ApiException conflict(String detail) {
		return new ApiException(ProblemType.CONFLICT, detail);
	}

}
