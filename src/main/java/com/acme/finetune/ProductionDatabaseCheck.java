package com.acme.finetune;

import java.util.Locale;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Profiles;

/**
 * Refuses to start the {@code prod} profile (what the container image and the Kubernetes
 * manifests run) on anything but PostgreSQL. Without it, a forgotten {@code DB_URL}
 * silently gives each replica its own embedded H2 file: jobs queued on one pod are never
 * seen by another, and the data is lost with the pod. H2 stays the default without the
 * profile ({@code ./mvnw spring-boot:run}). Runs after the configuration files are read,
 * before any bean exists, so nothing has touched a database yet.
 */
public class ProductionDatabaseCheck implements EnvironmentPostProcessor, Ordered {

	static final String PROFILE = "prod";

	@Override
	public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
		if (!environment.acceptsProfiles(Profiles.of(PROFILE))) {
			return;
		}
		String url = environment.getProperty("spring.datasource.url", "");
		if (!url.toLowerCase(Locale.ROOT).startsWith("jdbc:postgresql:")) {
			throw new EmbeddedDatabaseInProductionException(url);
		}
	}

	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE;
	}

	/** The {@code prod} profile was started without a PostgreSQL URL. */
	static class EmbeddedDatabaseInProductionException extends IllegalStateException {

		private final String kind;

		EmbeddedDatabaseInProductionException(String url) {
			super("The prod profile needs PostgreSQL: set DB_URL to a jdbc:postgresql:// URL (it is " + describe(url)
					+ ")");
			this.kind = describe(url);
		}

		String kind() {
			return this.kind;
		}

		/** What the URL is, without credentials or host names that might be in it. */
		private static String describe(String url) {
			if (url.isBlank()) {
				return "not set";
			}
			String lower = url.toLowerCase(Locale.ROOT);
			if (lower.startsWith("jdbc:h2:")) {
				return "the embedded H2 database";
			}
			int second = lower.indexOf(':', 5);
			return (lower.startsWith("jdbc:") && second > 0) ? "a " + lower.substring(5, second) + " URL"
					: "not a JDBC URL";
		}

	}

}
