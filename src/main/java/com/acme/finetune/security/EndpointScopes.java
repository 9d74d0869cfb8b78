package com.acme.finetune.security;

import java.util.List;

import org.springframework.http.HttpMethod;
import org.springframework.http.server.PathContainer;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * The one table of which scope each endpoint needs. Deny by default: a request that no
 * rule matches (an endpoint added later and not listed here, an unknown path, another
 * method) needs {@link Scope#ADMIN}, so a new endpoint is never reachable by a
 * prediction-only or read-only key by accident. {@code HEAD} counts as {@code GET}.
 */
final class EndpointScopes {

	private static final List<Rule> RULES = List.of(
			// read: everything a dashboard or a client polling its work needs
			rule("GET", "/api/v1/datasets", Scope.READ), rule("GET", "/api/v1/datasets/{id}", Scope.READ),
			rule("GET", "/api/v1/backbones", Scope.READ), rule("GET", "/api/v1/backbones/{id}", Scope.READ),
			rule("GET", "/api/v1/jobs", Scope.READ), rule("GET", "/api/v1/jobs/{id}", Scope.READ),
			rule("GET", "/api/v1/jobs/{id}/metrics", Scope.READ), rule("GET", "/api/v1/jobs/{id}/events", Scope.READ),
			rule("GET", "/api/v1/jobs/{id}/report", Scope.READ),
			rule("GET", "/api/v1/jobs/{id}/report/{chart}", Scope.READ), rule("GET", "/api/v1/sweeps", Scope.READ),
			rule("GET", "/api/v1/sweeps/{id}", Scope.READ), rule("GET", "/api/v1/sweeps/{id}/events", Scope.READ),
			rule("GET", "/api/v1/sweeps/{id}/report", Scope.READ), rule("GET", "/api/v1/models", Scope.READ),
			rule("GET", "/api/v1/models/{id}", Scope.READ), rule("GET", "/api/v1/models/{id}/artifact", Scope.READ),
			rule("GET", "/api/v1/models/{id}/export", Scope.READ), rule("GET", "/api/v1/registered-models", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}/versions", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}/versions/{version}", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}/aliases", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}/aliases/{alias}", Scope.READ),
			rule("GET", "/api/v1/registered-models/{name}/aliases/{alias}/history", Scope.READ),
			rule("GET", "/api/v1/models/{id}/evaluations", Scope.READ),
			rule("GET", "/api/v1/evaluations/{id}", Scope.READ),
			rule("GET", "/api/v1/evaluations/{id}/report", Scope.READ),
			// the API docs, where they are not public
			rule("GET", "/v3/api-docs", Scope.READ), rule("GET", "/v3/api-docs/**", Scope.READ),
			rule("GET", "/v3/api-docs.yaml", Scope.READ), rule("GET", "/swagger-ui.html", Scope.READ),
			rule("GET", "/swagger-ui/**", Scope.READ),
			// train: datasets in, jobs in and out
			rule("POST", "/api/v1/datasets", Scope.TRAIN), rule("POST", "/api/v1/jobs", Scope.TRAIN),
			rule("POST", "/api/v1/jobs:validate", Scope.TRAIN), rule("POST", "/api/v1/jobs/{id}:cancel", Scope.TRAIN),
			rule("POST", "/api/v1/jobs/{id}:resume", Scope.TRAIN), rule("POST", "/api/v1/sweeps", Scope.TRAIN),
			rule("POST", "/api/v1/sweeps:validate", Scope.TRAIN),
			rule("POST", "/api/v1/sweeps/{id}:cancel", Scope.TRAIN),
			// ... evaluations: a worker scores a model on a dataset
			rule("POST", "/api/v1/models/{id}/evaluations", Scope.TRAIN),
			rule("POST", "/api/v1/registered-models/{name}/aliases/{alias}/evaluations", Scope.TRAIN),
			// ... and their models into the registry: new versions, descriptions, alias
			// moves
			rule("POST", "/api/v1/registered-models/{name}/versions", Scope.TRAIN),
			rule("PATCH", "/api/v1/registered-models/{name}", Scope.TRAIN),
			rule("PUT", "/api/v1/registered-models/{name}/aliases/{alias}", Scope.TRAIN),
			// predict
			rule("POST", "/api/v1/models/{id}/predictions", Scope.PREDICT),
			rule("POST", "/api/v1/registered-models/{name}/aliases/{alias}/predictions", Scope.PREDICT),
			rule("POST", "/api/v1/registered-models/{name}/versions/{version}/predictions", Scope.PREDICT),
			rule("POST", "/api/v1/models/{id}/explanations", Scope.PREDICT),
			rule("POST", "/api/v1/registered-models/{name}/aliases/{alias}/explanations", Scope.PREDICT),
			rule("POST", "/api/v1/registered-models/{name}/versions/{version}/explanations", Scope.PREDICT),
			// ... in bulk: the client that submits a batch follows it and fetches its
			// results
			rule("POST", "/api/v1/models/{id}/batch-predictions", Scope.PREDICT),
			rule("GET", "/api/v1/batch-predictions/{id}", Scope.PREDICT),
			rule("GET", "/api/v1/batch-predictions/{id}/results", Scope.PREDICT),
			rule("GET", "/api/v1/batch-predictions/{id}/events", Scope.PREDICT)
	// admin: POST /api/v1/backbones, every DELETE and all else, by default
	);

	private EndpointScopes() {
	}

	/** The scope a request with this method and (normalised) path needs. */
	static Scope required(String method, PathContainer path) {
		String effective = "HEAD".equals(method) ? "GET" : method;
		for (Rule rule : RULES) {
			if (rule.method().matches(effective) && rule.pattern().matches(path)) {
				return rule.scope();
			}
		}
		return Scope.ADMIN;
	}

	private static Rule rule(String method, String pattern, Scope scope) {
		return new Rule(HttpMethod.valueOf(method), PathPatternParser.defaultInstance.parse(pattern), scope);
	}

	private record Rule(HttpMethod method, PathPattern pattern, Scope scope) {
	}

}
