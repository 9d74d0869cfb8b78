package com.acme.finetune;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * PostgreSQL for tests: a Testcontainers container when a Docker engine answers,
 * otherwise the running server named by {@code TEST_DATABASE_URL} (see
 * {@link TestIsolation}).
 */
@TestConfiguration(proxyBeanMethods = false)
public class TestDatabaseConfiguration {

	@Bean
	@ServiceConnection
	@Conditional(DockerAvailable.class)
	PostgreSQLContainer postgresContainer() {
		return new PostgreSQLContainer("postgres:16-alpine");
	}

	static class DockerAvailable implements Condition {

		private static volatile Boolean available;

		@Override
		public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
			return isDockerAvailable();
		}

		static boolean isDockerAvailable() {
			if (available == null) {
				boolean result;
				try {
					result = DockerClientFactory.instance().isDockerAvailable();
				}
				catch (Throwable ex) {
					result = false;
				}
				available = result;
			}
			return available;
		}

	}

}
