package com.acme.finetune.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml without a container engine: the service waits for a healthy
 * PostgreSQL 16, is wired with variables the application reads, keeps its data on a named
 * volume and has a health check on the readiness probe. SnakeYAML because the file uses
 * merge keys ({@code <<: *app-env}), which Jackson's YAML reader does not resolve.
 */
class ComposeFileTests {

	private final Map<String, Object> compose;

	ComposeFileTests() throws IOException {
		this.compose = new Yaml().load(Files.readString(Path.of("docker-compose.yml")));
	}

	@Test
	void postgresIsSixteenWithAHealthCheck() {
		Map<String, Object> postgres = service("postgres");
		assertThat((String) postgres.get("image")).startsWith("postgres:16");
		assertThat(map(postgres, "healthcheck").get("test").toString()).contains("pg_isready");
		assertThat(((List<?>) postgres.get("volumes")).get(0).toString()).endsWith(":/var/lib/postgresql/data");
	}

	@Test
	void servicesAreWiredToTheApplication() throws IOException {
		Set<String> known = KubernetesManifestsTests.knownEnv();
		List<String> violations = new ArrayList<>();
		for (String name : List.of("app", "worker-gpu")) {
			Map<String, Object> service = service(name);
			Map<String, Object> env = map(service, "environment");
			env.keySet().forEach((variable) -> {
				if (!known.contains(variable)) {
					violations.add(name + ": " + variable + " is not a variable the application reads");
				}
			});
			assertThat(env.get("DB_URL").toString()).startsWith("jdbc:postgresql://postgres:5432/");
			assertThat(env).containsKeys("DB_USER", "DB_PASSWORD", "ARTIFACT_ROOT", "DJL_CACHE_DIR", "API_KEYS",
					"APP_ROLES");
			assertThat(map(map(service, "depends_on"), "postgres")).containsEntry("condition", "service_healthy");
			assertThat(map(service, "healthcheck").get("test").toString()).contains(ManifestChecker.READINESS);
			String volume = ((List<?>) service.get("volumes")).get(0).toString();
			assertThat(map(this.compose, "volumes")).containsKey(volume.substring(0, volume.indexOf(':')));
			assertThat(volume).endsWith(":/data");
		}
		assertThat(violations).isEmpty();
		assertThat(((List<?>) service("app").get("ports")).get(0).toString()).endsWith(":8080")
			.startsWith("${HTTP_PORT");
		assertThat(map(service("worker-gpu"), "environment")).containsEntry("APP_ROLES", "worker")
			.containsEntry("DJL_CACHE_DIR", "/opt/djl-cache")
			.containsEntry("DB_URL", map(service("app"), "environment").get("DB_URL"));
	}

	private Map<String, Object> service(String name) {
		return map(map(this.compose, "services"), name);
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> map(Map<String, Object> parent, String key) {
		assertThat(parent).containsKey(key);
		return (Map<String, Object>) parent.get(key);
	}

}
