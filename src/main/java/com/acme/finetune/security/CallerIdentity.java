package com.acme.finetune.security;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Who made a request, for audit records (e.g. who moved a model alias): set by
 * {@link ApiKeyFilter} as a request attribute once a key is accepted. Without configured
 * keys the API is open and the caller is {@value #ANONYMOUS}.
 */
public final class CallerIdentity {

	/** The request attribute holding the caller's name. */
	public static final String ATTRIBUTE = CallerIdentity.class.getName();

	public static final String ANONYMOUS = "anonymous";

	private CallerIdentity() {
	}

	/** The caller of this request, {@value #ANONYMOUS} when none is known. */
	public static String of(HttpServletRequest request) {
		Object name = request.getAttribute(ATTRIBUTE);
		return (name instanceof String s && !s.isBlank()) ? s : ANONYMOUS;
	}

}
