package com.acme.finetune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

import javax.sql.DataSource;

import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.core.env.MapPropertySource;

/**
 * Gives every test application context its own PostgreSQL schema and artifact root, so
 * test classes (and concurrent CI runs) sharing one database never see each other's rows
 * or files. The schema is dropped when the context closes.
 */
public class TestIsolation implements ApplicationContextInitializer<ConfigurableApplicationContext> {

	public static final String DEFAULT_DATABASE_URL = "jdbc:postgresql://127.0.0.1:5432/test";

	@Override
	public void initialize(ConfigurableApplicationContext context) {
		String schema = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
		Path artifacts;
		try {
			artifacts = Files.createTempDirectory("finetune-test-artifacts-");
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		String url = env("TEST_DATABASE_URL", DEFAULT_DATABASE_URL);
		context.getEnvironment()
			.getPropertySources()
			.addFirst(new MapPropertySource("testIsolation", Map.ofEntries(Map.entry("spring.datasource.url", url),
					Map.entry("spring.datasource.username", env("TEST_DATABASE_USER", "postgres")),
					Map.entry("spring.datasource.password", env("TEST_DATABASE_PASSWORD", "")),
					Map.entry("spring.datasource.hikari.schema", schema),
					Map.entry("spring.flyway.default-schema", schema), Map.entry("spring.flyway.schemas", schema),
					Map.entry("spring.flyway.create-schemas", "true"),
					Map.entry("spring.jpa.properties.hibernate.default_schema", schema),
					Map.entry("app.storage.root", artifacts.toString()), Map.entry("app.djl.offline", "true"),
					Map.entry("app.djl.preload", "false"),
					// fp32 serving unless a test asks for bf16: predictions compared with
					// PyTorch's and plain DJL's stay exact, and no bf16 check runs per
					// context
					Map.entry("app.djl.bf16", context.getEnvironment().getProperty("app.djl.bf16", "false")),
					Map.entry("app.jobs.heartbeat-interval", "1s"), Map.entry("app.jobs.missed-heartbeats", "4"),
					Map.entry("app.jobs.polling-interval", "250ms"), Map.entry("app.jobs.retry-delay", "0s"),
					Map.entry("app.jobs.shutdown-grace", "20s"), Map.entry("app.jobs.metrics-refresh", "1s"),
					Map.entry("app.jobs.callback-secret", "test-callback-secret"),
					// long enough for a tiny backbone on a busy machine, short enough for
					// the test of an endless forward
					Map.entry("app.sandbox.timeout", "30s"),
					Map.entry("app.djl.cache-dir", System.getProperty("user.home") + "/.djl.ai"))));
		context.addApplicationListener((ApplicationListener<ContextClosedEvent>) (event) -> {
			if (event.getApplicationContext() != context) {
				return;
			}
			dropSchema(context, schema);
			deleteQuietly(artifacts);
		});
	}

	private static void dropSchema(ConfigurableApplicationContext context, String schema) {
		context.getBeanProvider(DataSource.class).ifAvailable((dataSource) -> {
			try (Connection connection = dataSource.getConnection();
					Statement statement = connection.createStatement()) {
				statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
			}
			catch (Exception ex) {
				// best effort: a leftover schema only costs space in the test database
			}
		});
	}

	private static void deleteQuietly(Path dir) {
		try {
			com.acme.finetune.storage.ArtifactStore.deleteRecursively(dir);
		}
		catch (IOException ex) {
			// best effort
		}
	}

	private static String env(String name, String fallback) {
		String value = System.getenv(name);
		return (value == null || value.isBlank()) ? fallback : value;
	}

}
