package com.acme.finetune.web;

import java.io.IOException;

import com.acme.finetune.AppRoles;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * On nodes without the {@code api} role (pure workers) the HTTP API is switched off; only
 * Actuator answers, for probes and metrics.
 */
@Component
class ApiRoleFilter extends OncePerRequestFilter {

	private final AppRoles roles;

	ApiRoleFilter(AppRoles roles) {
		this.roles = roles;
	}

	@Override
	protected boolean shouldNotFilter(HttpServletRequest request) {
		return this.roles.api() || !request.getRequestURI().startsWith("/api/");
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws IOException, ServletException {
		response.setStatus(HttpStatus.NOT_FOUND.value());
		response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		response.getWriter()
			.write("{\"type\":\"" + ProblemType.NOT_FOUND.uri() + "\",\"title\":\"" + ProblemType.NOT_FOUND.title()
					+ "\",\"status\":404,\"detail\":\"This node runs the worker role only; the API is served by "
					+ "api nodes\"}");
	}

}
