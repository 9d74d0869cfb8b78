package com.acme.finetune.security;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Who made a request, for audit records (e.g. who moved a model alias): the name of the
 * API key that {@link ApiKeyFilter} accepted. Without configured keys the API is open and
 * the caller is {@value #ANONYMOUS}.
 */
public final class CallerIdentity {

	public static final String ANONYMOUS = "anonymous";

	private CallerIdentity() {
	}

	/** The caller of this request, {@value #ANONYMOUS} when none is known. */
	public static String of(HttpServletRequest request) {
		return ApiCaller.of(request).map(ApiCaller::name).orElse(ANONYMOUS);
	}

}
