package com.acme.finetune.sweep;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import tools.jackson.databind.JsonNode;

/**
 * Reads the fields of a sweep body ({@link SweepSpecParser}, {@link SearchSpaceParser}):
 * each reader falls back to a default when a field is absent and records a violation,
 * once, for a value of the wrong type or out of range. The parsers of one body share one
 * list of violations.
 */
abstract class SweepBodyReader {

	final List<Map<String, String>> violations;

	SweepBodyReader(List<Map<String, String>> violations) {
		this.violations = violations;
	}

	void unknownFields(JsonNode node, String prefix, Set<String> known) {
		for (String name : node.propertyNames()) {
			if (!known.contains(name)) {
				violation(prefix + name, "unknown field");
			}
		}
	}

	String text(JsonNode parent, String name, String fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isString()) {
			violation(name, "must be a string");
			return null;
		}
		return node.asString();
	}

	String choice(JsonNode parent, String name, String fallback, List<String> allowed) {
		return choice(parent, name, name, fallback, allowed);
	}

	String choice(JsonNode parent, String name, String path, String fallback, List<String> allowed) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isString() || !allowed.contains(node.asString())) {
			violation(path, "must be one of " + String.join(", ", allowed));
			return fallback;
		}
		return node.asString();
	}

	int integer(JsonNode parent, String name, int fallback, int min, int max) {
		return integer(parent, name, name, fallback, min, max);
	}

	int integer(JsonNode parent, String name, String path, int fallback, int min, int max) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isIntegralNumber() || !node.canConvertToInt()) {
			violation(path, "must be an integer");
			return fallback;
		}
		int value = node.asInt();
		if (value < min || value > max) {
			violation(path, "must be between " + min + " and " + max);
			return fallback;
		}
		return value;
	}

	long longValue(JsonNode parent, String name, long fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isIntegralNumber() || !node.canConvertToLong()) {
			violation(name, "must be an integer");
			return fallback;
		}
		return node.asLong();
	}

	boolean bool(JsonNode parent, String name, boolean fallback) {
		JsonNode node = parent.get(name);
		if (node == null || node.isNull()) {
			return fallback;
		}
		if (!node.isBoolean()) {
			violation(name, "must be true or false");
			return fallback;
		}
		return node.asBoolean();
	}

	void violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		if (!this.violations.contains(v)) {
			this.violations.add(v);
		}
	}

}
