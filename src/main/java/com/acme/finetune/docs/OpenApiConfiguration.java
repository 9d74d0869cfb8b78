package com.acme.finetune.docs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.security.ApiSecurityProperties;
import com.acme.finetune.web.ProblemType;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.servers.Server;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.GlobalOpenApiCustomizer;
import org.springdoc.core.utils.SpringDocUtils;
import org.springdoc.core.customizers.OperationCustomizer;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Describes the service for {@code /v3/api-docs} and Swagger UI: what it is, how to
 * authenticate, and the problem body every error shares, so generated clients get one
 * error type instead of guessing per operation.
 */
@Configuration(proxyBeanMethods = false)
class OpenApiConfiguration {

	static final String TITLE = "Transfer-learning service API";

	static final String API_KEY_SCHEME = "apiKey";

	static final String BEARER_SCHEME = "bearer";

	static final String PROBLEM_SCHEMA = "Problem";

	static final String VIOLATION_SCHEMA = "Violation";

	static {
		// bodies read as a Jackson tree are JSON objects: a generated client sends and
		// receives them as plain maps (Jackson's own node types are no API schema)
		SpringDocUtils.getConfig()
			.replaceWithSchema(tools.jackson.databind.JsonNode.class, new ObjectSchema())
			.replaceWithSchema(tools.jackson.databind.node.ObjectNode.class, new ObjectSchema());
	}

	@Bean
	OpenAPI serviceOpenApi(ObjectProvider<BuildProperties> build) {
		BuildProperties properties = build.getIfAvailable();
		String version = (properties != null) ? properties.getVersion() : "dev";
		return new OpenAPI()
			.info(new Info().title(TITLE)
				.version(version)
				.description("Upload ImageFolder datasets, fine-tune ResNet-50 backbones as asynchronous jobs, "
						+ "and serve top-k predictions from the resulting models. Errors are RFC 9457 problems "
						+ "(application/problem+json) whose type URIs start with " + ProblemType.BASE_URI + ".")
				.license(new License().name("Proprietary").identifier("LicenseRef-Proprietary")))
			// fixed, so the checked-in document does not depend on the port it was read
			// from
			.servers(List.of(new Server().url("http://localhost:8080").description("A local instance")))
			.components(new Components()
				.addSecuritySchemes(API_KEY_SCHEME,
						new SecurityScheme().type(SecurityScheme.Type.APIKEY)
							.in(SecurityScheme.In.HEADER)
							.name(ApiSecurityProperties.API_KEY_HEADER)
							.description("Required when the service has API keys configured (API_KEYS). A key holds "
									+ "scopes: predict (predictions), read (every GET), train (dataset uploads; "
									+ "job submit, validate, cancel), admin (backbone uploads, deletes, everything "
									+ "else); a missing scope is a 403 problem naming it."))
				.addSecuritySchemes(BEARER_SCHEME,
						new SecurityScheme().type(SecurityScheme.Type.HTTP)
							.scheme("bearer")
							.description("The same API key as a bearer token.")))
			// either scheme satisfies the requirement (separate entries are alternatives)
			.addSecurityItem(new SecurityRequirement().addList(API_KEY_SCHEME))
			.addSecurityItem(new SecurityRequirement().addList(BEARER_SCHEME));
	}

	/** Stable operation ids, so generated clients get readable method names. */
	@Bean
	OperationCustomizer operationIds() {
		return (operation, handler) -> {
			io.swagger.v3.oas.annotations.Operation declared = handler
				.getMethodAnnotation(io.swagger.v3.oas.annotations.Operation.class);
			if (declared != null && !declared.operationId().isEmpty()) {
				return operation;
			}
			String key = handler.getBeanType().getSimpleName() + "#" + handler.getMethod().getName();
			String id = OperationIds.ID.get(key);
			if (id == null) {
				// endpoints added later: method name plus the controller's noun, unique
				// and stable until someone names them in OperationIds
				id = handler.getMethod().getName() + handler.getBeanType().getSimpleName().replace("Controller", "");
			}
			operation.setOperationId(id);
			if (operation.getSummary() == null) {
				operation.setSummary(OperationIds.SUMMARY.get(id));
			}
			return operation;
		};
	}

	/**
	 * Documents every problem response each API operation can return, the conditional
	 * request headers, and the headers with their meaning.
	 */
	@Bean
	GlobalOpenApiCustomizer problemResponses() {
		return (openApi) -> {
			// (re-)added here: springdoc drops unreferenced schemas before customizers
			// run
			if (openApi.getComponents() == null) {
				openApi.setComponents(new Components());
			}
			openApi.getComponents().addSchemas(PROBLEM_SCHEMA, problemSchema());
			openApi.getComponents().addSchemas(VIOLATION_SCHEMA, violationSchema());
			if (openApi.getPaths() == null) {
				return;
			}
			openApi.getPaths()
				.forEach((path, item) -> item.readOperationsMap()
					.forEach((method, operation) -> ProblemResponses.describe(path, method, operation)));
		};
	}

	@SuppressWarnings({ "rawtypes", "unchecked" })
	private static Schema<?> problemSchema() {
		Schema schema = new ObjectSchema()
			.description("RFC 9457 problem details; extra members such as errors[] " + "appear where useful");
		Map<String, Schema> properties = new LinkedHashMap<>();
		properties.put("type", new StringSchema().format("uri").example(ProblemType.NOT_FOUND.uri().toString()));
		properties.put("title", new StringSchema().example(ProblemType.NOT_FOUND.title()));
		properties.put("status", new IntegerSchema().example(404));
		properties.put("detail", new StringSchema());
		properties.put("instance", new StringSchema().format("uri-reference"));
		properties.put("errors",
				new ArraySchema().items(new Schema<>().$ref("#/components/schemas/" + VIOLATION_SCHEMA))
					.description("400/413/415/422: every violation, each with field and message, or file and "
							+ "reason for archives and images"));
		properties.put("totalErrors", new IntegerSchema()
			.description("How many violations there were when " + "errors[] lists only the first ones"));
		properties.put("currentETag",
				new StringSchema().description("412: the resource's ETag now; read it again before retrying"));
		properties.put("requiredScope", new StringSchema()._enum(List.of("predict", "read", "train", "admin"))
			.description("403: the scope the API key lacks"));
		properties.put("aliases", new ArraySchema().items(new StringSchema())
			.description("409 aliased-model: the aliases that point there"));
		properties.put("refused", new ArraySchema().items(new ObjectSchema())
			.description("Per-item refusals (e.g. inputs that were not images)"));
		properties.put("version", new IntegerSchema().description("The registered version concerned"));
		schema.setProperties(properties);
		schema.setRequired(List.of("type", "title", "status"));
		schema.setAdditionalProperties(true);
		schema.setExample(Map.of("type", ProblemType.VALIDATION.uri().toString(), "title",
				ProblemType.VALIDATION.title(), "status", 400, "detail", "1 validation error in the request", "errors",
				List.of(Map.of("field", "hyperparameters.epochs", "message", "must be between 1 and 1000"))));
		return schema;
	}

	@SuppressWarnings({ "rawtypes", "unchecked" })
	private static Schema<?> violationSchema() {
		Schema schema = new ObjectSchema().description("One violation: field and message, or file and reason");
		Map<String, Schema> properties = new LinkedHashMap<>();
		properties.put("field", new StringSchema().description("The parameter or JSON path"));
		properties.put("message", new StringSchema());
		properties.put("file", new StringSchema().description("The archive entry or uploaded file"));
		properties.put("reason", new StringSchema());
		schema.setProperties(properties);
		schema.setAdditionalProperties(true);
		return schema;
	}

}
