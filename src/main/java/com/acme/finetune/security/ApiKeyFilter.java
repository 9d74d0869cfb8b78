package com.acme.finetune.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.PathContainer;
import org.springframework.stereotype.Component;
import org.springframework.web.cors.CorsUtils;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;
import org.springframework.web.util.UrlPathHelper;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * Requires an API key on every request once keys are configured, except the endpoints
 * that probes, scrapers and API explorers need. Deny by default rather than "protect
 * {@code /api/**}": a route added anywhere later is protected without anyone remembering
 * to list it.
 * <p>
 * A key is accepted from {@code X-API-Key} or {@code Authorization: Bearer}. No key is a
 * 401 (with {@code WWW-Authenticate}), a wrong key a 403; both bodies are built by the
 * application's one exception handler, so they are the same RFC 9457 problems as every
 * other error. Keys are never logged.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class ApiKeyFilter extends OncePerRequestFilter {

	static final String API_KEY_HEADER = ApiSecurityProperties.API_KEY_HEADER;

	private static final String BEARER_PREFIX = "Bearer ";

	private static final Logger log = LoggerFactory.getLogger(ApiKeyFilter.class);

	/**
	 * Kubernetes probes, the Prometheus scraper (cluster-internal) and build/engine info.
	 */
	private static final List<PathPattern> ALWAYS_OPEN = patterns("/actuator/health", "/actuator/health/**",
			"/actuator/info", "/actuator/prometheus");

	private static final List<PathPattern> DOCS = patterns("/v3/api-docs", "/v3/api-docs/**", "/v3/api-docs.yaml",
			"/swagger-ui.html", "/swagger-ui/**");

	private final ApiKeys keys;

	private final boolean publicDocs;

	private final HandlerExceptionResolver exceptionResolver;

	private final UrlPathHelper pathHelper = rawPathHelper();

	ApiKeyFilter(ApiSecurityProperties properties,
			@Qualifier("handlerExceptionResolver") HandlerExceptionResolver exceptionResolver) {
		this.keys = ApiKeys.of(properties.apiKeys());
		this.publicDocs = properties.publicDocs();
		this.exceptionResolver = exceptionResolver;
		// the count only: which keys exist is nobody's business
		log.info("API key authentication {}", this.keys.enabled() ? "enabled with " + this.keys.size() + " key(s)"
				: "disabled (no app.security.api-keys configured)");
	}

	@Override
	protected boolean shouldNotFilter(HttpServletRequest request) {
		if (!this.keys.enabled() || CorsUtils.isPreFlightRequest(request)) {
			return true;
		}
		// Open only when the container's normalised path and the raw path that handlers
		// match on agree: "/actuator/health/../env" or ";" tricks never count as open.
		String normalised = request.getServletPath() + ((request.getPathInfo() != null) ? request.getPathInfo() : "");
		if (!normalised.equals(this.pathHelper.getPathWithinApplication(request))) {
			return false;
		}
		PathContainer path = PathContainer.parsePath(normalised);
		return matchesAny(ALWAYS_OPEN, path) || (this.publicDocs && matchesAny(DOCS, path));
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		String presented = presentedKey(request);
		if (presented == null) {
			response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"finetune\"");
			reject(request, response, new ApiException(ProblemType.UNAUTHORIZED,
					"This API requires an API key in the " + API_KEY_HEADER + " or Authorization: Bearer header"));
			return;
		}
		if (!this.keys.matches(presented)) {
			log.debug("Refused {} {}: API key not accepted", request.getMethod(), request.getRequestURI());
			reject(request, response, new ApiException(ProblemType.FORBIDDEN, "The API key presented is not accepted"));
			return;
		}
		request.setAttribute(CallerIdentity.ATTRIBUTE, ApiKeys.fingerprint(presented));
		chain.doFilter(request, response);
	}

	/**
	 * The key from {@code X-API-Key}, else from a bearer token; null when neither is set.
	 */
	private static String presentedKey(HttpServletRequest request) {
		String header = request.getHeader(API_KEY_HEADER);
		if (header != null && !header.isBlank()) {
			return header.strip();
		}
		String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
		if (authorization != null && authorization.regionMatches(true, 0, BEARER_PREFIX, 0, BEARER_PREFIX.length())) {
			String token = authorization.substring(BEARER_PREFIX.length()).strip();
			return token.isEmpty() ? null : token;
		}
		return null;
	}

	private void reject(HttpServletRequest request, HttpServletResponse response, ApiException ex) throws IOException {
		ModelAndView handled = this.exceptionResolver.resolveException(request, response, null, ex);
		if (handled == null) {
			// the handler could not write a body the client accepts: the status still
			// counts
			response.setStatus(ex.status().value());
			response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
			response.setCharacterEncoding(StandardCharsets.UTF_8.name());
			response.getWriter()
				.write("{\"type\":\"" + ex.type().uri() + "\",\"title\":\"" + ex.type().title() + "\",\"status\":"
						+ ex.status().value() + "}");
		}
	}

	/**
	 * The request URI within the application, decoded but otherwise as the client sent
	 * it.
	 */
	private static UrlPathHelper rawPathHelper() {
		UrlPathHelper helper = new UrlPathHelper();
		helper.setRemoveSemicolonContent(false);
		return helper;
	}

	private static boolean matchesAny(List<PathPattern> patterns, PathContainer path) {
		for (PathPattern pattern : patterns) {
			if (pattern.matches(path)) {
				return true;
			}
		}
		return false;
	}

	private static List<PathPattern> patterns(String... patterns) {
		PathPatternParser parser = new PathPatternParser();
		return Arrays.stream(patterns).map(parser::parse).toList();
	}

}
