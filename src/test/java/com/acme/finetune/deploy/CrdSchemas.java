package com.acme.finetune.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The OpenAPI v3 schemas of the custom resources the manifests use (KEDA, Prometheus
 * Operator, CloudNativePG), copied from the operators' own CRDs into
 * {@code src/test/resources/crd-schemas} (each file names its source and release), and
 * validated with a JSON Schema validator.
 * <p>
 * The API server prunes fields a CRD does not declare and {@code kubectl apply
 * --validate=strict} refuses them; the CRD schemas themselves do not say
 * {@code additionalProperties: false}. So every object schema that lists its properties,
 * allows no extra ones and does not preserve unknown fields is closed here, the way the
 * server treats it: a misspelt field is an error, not a silently ignored setting.
 */
final class CrdSchemas {

	static final Path DIRECTORY = Path.of("src/test/resources/crd-schemas");

	private static final YAMLMapper YAML = new YAMLMapper();

	private final Map<String, Schema> schemas = new LinkedHashMap<>();

	CrdSchemas() {
		SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
		try (Stream<Path> files = Files.list(DIRECTORY)) {
			for (Path file : files.filter((f) -> f.toString().endsWith(".yaml")).sorted().toList()) {
				JsonNode root;
				try (InputStream in = Files.newInputStream(file)) {
					root = YAML.readTree(in);
				}
				JsonNode schema = root.path("schema").deepCopy();
				close(schema);
				this.schemas.put(key(root.path("apiVersion").asString(), root.path("kind").asString()),
						registry.getSchema(com.networknt.schema.SchemaLocation.of(file.toUri().toString()), schema));
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	boolean knows(String apiVersion, String kind) {
		return this.schemas.containsKey(key(apiVersion, kind));
	}

	/** Schema violations of one object, as readable lines prefixed with {@code where}. */
	List<String> validate(String where, JsonNode object) {
		Schema schema = this.schemas.get(key(object.path("apiVersion").asString(), object.path("kind").asString()));
		List<String> violations = new ArrayList<>();
		if (schema == null) {
			violations.add(where + ": no schema for " + object.path("apiVersion").asString() + "/"
					+ object.path("kind").asString());
			return violations;
		}
		for (Error error : schema.validate(object)) {
			violations.add(where + ": " + error.getInstanceLocation() + " " + error.getMessage());
		}
		return violations;
	}

	private static String key(String apiVersion, String kind) {
		return apiVersion + "/" + kind;
	}

	/** Closes object schemas as the API server's pruning does (see the class comment). */
	private static void close(JsonNode node) {
		if (node instanceof ObjectNode object) {
			if (object.has("properties") && !object.has("additionalProperties")
					&& !object.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)) {
				object.put("additionalProperties", false);
			}
			// Kubernetes' own keywords (list types, int-or-string - always beside an
			// anyOf -,
			// CEL validations, which are not evaluated here) mean nothing to JSON Schema
			object.propertyNames()
				.stream()
				.filter((name) -> name.startsWith("x-kubernetes-"))
				.toList()
				.forEach(object::remove);
			object.values().forEach(CrdSchemas::close);
		}
		else if (node != null && node.isArray()) {
			node.values().forEach(CrdSchemas::close);
		}
	}

}
