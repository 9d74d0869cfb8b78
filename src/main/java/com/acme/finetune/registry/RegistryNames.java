package com.acme.finetune.registry;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * What registered-model names, aliases, descriptions and tags may be. Names and aliases
 * are DNS labels (RFC 1123: 1 to 63 lowercase letters, digits and hyphens, beginning and
 * ending with a letter or digit), so they fit URL paths, Kubernetes object names, metric
 * labels and gateway route names unchanged.
 */
public final class RegistryNames {

	public static final int MAX_ALIASES = 10;

	public static final int MAX_DESCRIPTION = 2000;

	public static final int MAX_TAGS = 50;

	public static final int MAX_TAG_KEY = 100;

	public static final int MAX_TAG_VALUE = 1000;

	private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

	static final String RULE = "must be a DNS label: 1 to 63 lowercase letters, digits and hyphens, "
			+ "beginning and ending with a letter or digit";

	private RegistryNames() {
	}

	public static boolean isValid(String nameOrAlias) {
		return nameOrAlias != null && DNS_LABEL.matcher(nameOrAlias).matches();
	}

	/**
	 * Reports every problem of a registration as {@code (field, message)}, fields under
	 * {@code prefix} (e.g. {@code register.}).
	 */
	public static void check(Registration registration, String prefix, BiConsumer<String, String> violation) {
		if (registration.name() == null) {
			violation.accept(prefix + "name", "is required");
		}
		else if (!isValid(registration.name())) {
			violation.accept(prefix + "name", RULE);
		}
		checkDetails(registration.aliases(), registration.description(), registration.tags(), prefix, violation);
	}

	/** As {@link #check} for everything but the name. */
	public static void checkDetails(List<String> aliases, String description, Map<String, String> tags, String prefix,
			BiConsumer<String, String> violation) {
		if (aliases != null) {
			if (aliases.size() > MAX_ALIASES) {
				violation.accept(prefix + "aliases", "at most " + MAX_ALIASES + " aliases");
			}
			Set<String> seen = new HashSet<>();
			for (int i = 0; i < aliases.size(); i++) {
				String alias = aliases.get(i);
				if (!isValid(alias)) {
					violation.accept(prefix + "aliases[" + i + "]", RULE);
				}
				else if (!seen.add(alias)) {
					violation.accept(prefix + "aliases[" + i + "]", "'" + alias + "' is listed twice");
				}
			}
		}
		if (description != null && description.length() > MAX_DESCRIPTION) {
			violation.accept(prefix + "description", "at most " + MAX_DESCRIPTION + " characters");
		}
		if (tags != null) {
			if (tags.size() > MAX_TAGS) {
				violation.accept(prefix + "tags", "at most " + MAX_TAGS + " tags");
			}
			for (Map.Entry<String, String> tag : tags.entrySet()) {
				checkTag(tag.getKey(), tag.getValue(), prefix, violation);
			}
		}
	}

	static void checkTag(String key, String value, String prefix, BiConsumer<String, String> violation) {
		if (key.isBlank() || key.length() > MAX_TAG_KEY) {
			violation.accept(prefix + "tags", "keys must be 1 to " + MAX_TAG_KEY + " characters, not blank");
		}
		if (value != null && value.length() > MAX_TAG_VALUE) {
			violation.accept(prefix + "tags." + key, "at most " + MAX_TAG_VALUE + " characters");
		}
	}

}
