package com.acme.finetune.inference;

import java.io.IOException;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerExceptionResolver;

/**
 * Refuses a prediction or explanation request whose {@code Content-Length} is over
 * {@code app.inference.max-request-size} before its body is read: the multipart limit of
 * the whole application is sized for dataset uploads (gigabytes), and the container
 * spools every part to disk before a controller runs. Requests without a length are
 * checked by the parts' sizes afterwards.
 */
@Component
class PredictionSizeFilter extends OncePerRequestFilter {

	private final long maxBytes;

	private final HandlerExceptionResolver exceptionResolver;

	PredictionSizeFilter(InferenceProperties properties,
			@Qualifier("handlerExceptionResolver") HandlerExceptionResolver exceptionResolver) {
		this.maxBytes = properties.maxRequestSize().toBytes();
		this.exceptionResolver = exceptionResolver;
	}

	@Override
	protected boolean shouldNotFilter(HttpServletRequest request) {
		String uri = request.getRequestURI();
		if (!"POST".equals(request.getMethod())) {
			return true;
		}
		boolean prediction = uri.startsWith("/api/v1/models/") && uri.endsWith("/predictions");
		boolean explanation = (uri.startsWith("/api/v1/models/") || uri.startsWith("/api/v1/registered-models/"))
				&& uri.endsWith("/explanations");
		return !prediction && !explanation;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		long length = request.getContentLengthLong();
		if (length > this.maxBytes) {
			this.exceptionResolver.resolveException(request, response, null,
					new ApiException(ProblemType.PAYLOAD_TOO_LARGE, "The request has " + length
							+ " bytes, over the limit of " + this.maxBytes + " bytes per prediction request"));
			return;
		}
		chain.doFilter(request, response);
	}

}
