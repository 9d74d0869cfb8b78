package com.acme.finetune.security;

import java.security.Principal;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Who made a request: the configured name of the API key it presented (never the key) and
 * that key's scopes. With no keys configured every caller is {@link #ANONYMOUS} with
 * every scope, as the API is open. It is the request's {@link Principal} and is in the
 * logging MDC as {@value #MDC_KEY}, so features that record "who" read it from either.
 *
 * @param name the key's name from configuration ({@code key-1}, {@code key-2}… for plain
 * keys)
 * @param scopes what the key may do
 */
public record ApiCaller(String name, Set<Scope> scopes) implements Principal {

	/** The MDC key that carries the caller's name while a request is handled. */
	public static final String MDC_KEY = "caller";

	/** Every caller when no keys are configured. */
	static final ApiCaller ANONYMOUS = new ApiCaller("anonymous", EnumSet.allOf(Scope.class));

	static final String ATTRIBUTE = ApiCaller.class.getName();

	public ApiCaller {
		scopes = Collections.unmodifiableSet(scopes.isEmpty() ? EnumSet.noneOf(Scope.class) : EnumSet.copyOf(scopes));
	}

	/**
	 * The caller of a request, empty on open routes (health, docs) called without a key.
	 */
	public static Optional<ApiCaller> of(HttpServletRequest request) {
		return Optional.ofNullable((ApiCaller) request.getAttribute(ATTRIBUTE));
	}

	public boolean has(Scope scope) {
		return this.scopes.contains(scope);
	}

	@Override
	public String getName() {
		return this.name;
	}

}
