package com.acme.finetune.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

/**
 * The registry's checks of names, aliases and registrations, and the problems it answers
 * with (validation errors, not found).
 */
final class RegistryChecks {

	private RegistryChecks() {
	}

	static void checked(Registration registration) {
		List<Map<String, String>> errors = new ArrayList<>();
		RegistryNames.check(registration, "", (f, m) -> errors.add(violation(f, m)));
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, errors.size() + " problem(s) with the registration")
				.with("errors", errors);
		}
	}

	static void checkName(String name) {
		if (!RegistryNames.isValid(name)) {
			throw invalid("name", "'" + name + "' " + RegistryNames.RULE);
		}
	}

	static void checkAlias(String alias) {
		if (!RegistryNames.isValid(alias)) {
			throw invalid("alias", "'" + alias + "' " + RegistryNames.RULE);
		}
	}

	static ApiException invalid(String field, String message) {
		return new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
				List.of(violation(field, message)));
	}

	static Map<String, String> violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		return v;
	}

	static ApiException notFound(String name) {
		return ApiException.notFound("Registered model", name);
	}

	static ApiException versionNotFound(String name, int version) {
		return new ApiException(ProblemType.NOT_FOUND, "Version " + version + " of " + name + " does not exist");
	}

	static ApiException aliasNotFound(String name, String alias) {
		return new ApiException(ProblemType.NOT_FOUND, "Alias " + alias + " of " + name + " does not exist");
	}

}
