package com.acme.finetune.docs;

import java.util.List;
import java.util.Map;

import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;

/**
 * The problems each operation can return, derived from what the operation is (its method,
 * path, parameters and body) the way the error handler and the services answer: a path
 * variable can be a 404, a body a 400/415, an upload a 413/422/507, a write with If-Match
 * a 412, and so on. Responses an operation declares itself win.
 */
final class ProblemResponses {

	private static final String PROBLEM_REF = "#/components/schemas/" + OpenApiConfiguration.PROBLEM_SCHEMA;

	private static final String PROBLEM_JSON = "application/problem+json";

	private static final Map<String, String> HEADERS = Map.of("Idempotency-Key",
			"Makes the write safe to retry: the same key and body within 24 h returns the first result, never a "
					+ "second resource; the same key with another body is a 422 idempotency-key-reused problem",
			"Last-Event-ID",
			"Resume the stream after this event id (sent by EventSource on reconnect); nothing is missed", "If-Match",
			"Only if the resource's current ETag is one of these (or *): otherwise 412 precondition-failed. "
					+ "Left out, the write happens unconditionally",
			"If-None-Match",
			"GET: 304 without a body when the ETag still matches. PUT: * creates only (412 if it " + "exists)");

	private static final Map<String, String> QUERY = Map.of("page",
			"Zero-based offset page (compatibility; prefer pageToken). Left out with pageToken", "size",
			"Items per page, 1 to 100", "sort",
			"field[,asc|desc]; cursors follow the creation-time order (or the "
					+ "list's unique key); other orders page by offset only",
			"pageToken", "The nextPageToken of the previous page: keyset paging that neither skips nor repeats "
					+ "items while the list changes. Opaque; bound to this list, filter and sort (400 otherwise)");

	private ProblemResponses() {
	}

	static void describe(String path, PathItem.HttpMethod method, Operation operation) {
		if (operation.getResponses() == null) {
			operation.setResponses(new ApiResponses());
		}
		ApiResponses responses = operation.getResponses();
		List<Parameter> parameters = (operation.getParameters() != null) ? operation.getParameters() : List.of();
		for (Parameter parameter : parameters) {
			String description = HEADERS.get(parameter.getName());
			if ("header".equals(parameter.getIn()) && description != null) {
				parameter.setDescription(description);
			}
			String query = QUERY.get(parameter.getName());
			if ("query".equals(parameter.getIn()) && query != null && parameter.getDescription() == null) {
				parameter.setDescription(query);
			}
		}
		boolean hasPathVariable = path.contains("{");
		boolean hasBody = operation.getRequestBody() != null;
		boolean multipart = hasBody && operation.getRequestBody().getContent() != null
				&& operation.getRequestBody().getContent().containsKey("multipart/form-data");
		boolean predictions = path.endsWith("/predictions");
		boolean hasIfMatch = has(parameters, "If-Match");
		boolean idempotent = has(parameters, "Idempotency-Key");
		boolean paged = has(parameters, "pageToken");
		if (!parameters.isEmpty() || hasBody) {
			add(responses, "400", paged ? "Invalid page, size, sort or pageToken (errors[] lists each)"
					: "Invalid parameter, header or body (errors[] lists each violation)");
		}
		add(responses, "401", "No API key presented (only when keys are configured)");
		add(responses, "403", "The API key is not accepted, or lacks the scope (requiredScope)");
		if (hasPathVariable) {
			add(responses, "404", "No such resource");
		}
		if (method == PathItem.HttpMethod.DELETE) {
			add(responses, "409", "In use: an active job uses it, or an alias points to it");
		}
		if (path.endsWith(":cancel") || path.endsWith(":resume")) {
			add(responses, "409", "Not possible in the job's current status");
		}
		if (hasIfMatch || method == PathItem.HttpMethod.PUT) {
			add(responses, "412", "If-Match or If-None-Match failed (currentETag holds the ETag now)");
		}
		if (multipart) {
			add(responses, "413", "Over the configured upload size or extraction limits");
		}
		if (hasBody) {
			add(responses, "415",
					multipart ? "Not a supported archive or image format" : "The body must be application/json");
		}
		if (multipart || idempotent || (method == PathItem.HttpMethod.POST
				&& (path.endsWith("/jobs") || path.endsWith("/jobs:validate")))) {
			add(responses, "422", "Unprocessable: invalid images or dataset layout, unavailable backbone, or an "
					+ "Idempotency-Key reused with another body");
		}
		if (predictions || path.endsWith("/export")) {
			add(responses, "503", "Busy: the queue is full; retry after Retry-After seconds");
		}
		if (multipart || predictions) {
			add(responses, "507", "Not enough memory or disk space for this request");
		}
		if (method == PathItem.HttpMethod.GET && !path.endsWith("/events") && !path.endsWith("/artifact")
				&& !path.endsWith("/export")) {
			conditional(operation, responses);
		}
		successStatus(path, method, responses);
		// declared problem responses get the shared schema too
		responses.forEach((code, response) -> {
			if (code.startsWith("4") || code.startsWith("5")) {
				Content content = response.getContent();
				if (content == null) {
					response.setContent(problemContent());
				}
				else {
					MediaType problem = content.get(PROBLEM_JSON);
					if (problem != null && problem.getSchema() == null) {
						problem.setSchema(new Schema<>().$ref(PROBLEM_REF));
					}
				}
			}
		});
	}

	/** GETs answer with an ETag and revalidate with If-None-Match. */
	private static void conditional(Operation operation, ApiResponses responses) {
		if (!has(operation.getParameters(), "If-None-Match")) {
			operation.addParametersItem(new Parameter().in("header")
				.name("If-None-Match")
				.required(false)
				.description(HEADERS.get("If-None-Match"))
				.schema(new StringSchema()));
		}
		ApiResponse ok = responses.get("200");
		if (ok != null) {
			ok.addHeaderObject("ETag",
					new Header().description("Strong entity tag of this representation").schema(new StringSchema()));
			ok.addHeaderObject("Cache-Control",
					new Header().description("private, no-cache: keep if you like, revalidate with If-None-Match")
						.schema(new StringSchema()));
		}
		responses.putIfAbsent("304", new ApiResponse().description("Not modified: the ETag still matches"));
	}

	/**
	 * The status the handlers really answer with where springdoc cannot see it behind a
	 * ResponseEntity: 201 for uploads, 202 for job commands, 204 for deletes.
	 */
	private static void successStatus(String path, PathItem.HttpMethod method, ApiResponses responses) {
		ApiResponse ok = responses.get("200");
		if (ok == null) {
			return;
		}
		String status = null;
		if (method == PathItem.HttpMethod.DELETE) {
			status = "204";
			ok.setContent(null);
			ok.setDescription("Deleted");
		}
		else if (method == PathItem.HttpMethod.POST && (path.endsWith("/datasets") || path.endsWith("/backbones"))) {
			status = "201";
			ok.setDescription("Created; Location is the new resource");
		}
		else if (method == PathItem.HttpMethod.POST && (path.endsWith(":cancel") || path.endsWith(":resume"))) {
			status = "202";
			ok.setDescription("Accepted; the job as it is now");
		}
		if (status != null && !responses.containsKey(status)) {
			responses.remove("200");
			responses.put(status, ok);
		}
	}

	private static boolean has(List<Parameter> parameters, String name) {
		return parameters != null && parameters.stream().anyMatch((p) -> name.equals(p.getName()));
	}

	private static void add(ApiResponses responses, String code, String description) {
		responses.putIfAbsent(code, new ApiResponse().description(description).content(problemContent()));
	}

	private static Content problemContent() {
		return new Content().addMediaType(PROBLEM_JSON, new MediaType().schema(new Schema<>().$ref(PROBLEM_REF)));
	}

}
