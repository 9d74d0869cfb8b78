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
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.GlobalOpenApiCustomizer;

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
				.license(new License().name("Proprietary")))
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

	/** Documents the authentication failures on every API operation. */
	@Bean
	GlobalOpenApiCustomizer problemResponses() {
		return (openApi) -> {
			// (re-)added here: springdoc drops unreferenced schemas before customizers
			// run
			if (openApi.getComponents() == null) {
				openApi.setComponents(new Components());
			}
			openApi.getComponents().addSchemas(PROBLEM_SCHEMA, problemSchema());
			if (openApi.getPaths() == null) {
				return;
			}
			openApi.getPaths().forEach((path, item) -> item.readOperations().forEach((operation) -> {
				if (operation.getResponses() == null) {
					return;
				}
				operation.getResponses()
					.putIfAbsent("401", problemResponse("No API key presented (only when keys are configured)"));
				operation.getResponses().putIfAbsent("403", problemResponse("The API key is not accepted"));
			}));
		};
	}

	private static ApiResponse problemResponse(String description) {
		return new ApiResponse().description(description)
			.content(new Content().addMediaType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE,
					new MediaType().schema(new Schema<>().$ref("#/components/schemas/" + PROBLEM_SCHEMA))));
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
		schema.setProperties(properties);
		schema.setRequired(List.of("type", "title", "status"));
		schema.setAdditionalProperties(true);
		return schema;
	}

}
