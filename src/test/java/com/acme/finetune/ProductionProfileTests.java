package com.acme.finetune;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code prod} profile (container image, Kubernetes) refuses to start without
 * PostgreSQL and says why; without the profile the embedded default is left alone.
 */
@ExtendWith(OutputCaptureExtension.class)
class ProductionProfileTests {

	@Test
	void prodWithoutADatabaseUrlStopsWithAClearMessage(CapturedOutput output) {
		SpringApplicationBuilder application = new SpringApplicationBuilder(FinetuneApplication.class).profiles("prod")
			// what application.yml gives when DB_URL is not set
			.properties("spring.datasource.url=jdbc:h2:file:./target/never-created;MODE=PostgreSQL",
					"spring.main.banner-mode=off");
		assertThatThrownBy(application::run).hasMessageContaining("The prod profile needs PostgreSQL")
			.hasMessageContaining("DB_URL")
			.hasMessageContaining("the embedded H2 database");
		assertThat(output).contains("APPLICATION FAILED TO START")
			.contains("The 'prod' profile is active")
			.contains("Set DB_URL (jdbc:postgresql://HOST:5432/DB)");
		assertThat(output).doesNotContain("HikariPool").doesNotContain("Flyway");
	}

	@Test
	void theCheckAcceptsPostgresOnlyAndOnlyUnderTheProfile() {
		ProductionDatabaseCheck check = new ProductionDatabaseCheck();
		MockEnvironment prod = new MockEnvironment();
		prod.setActiveProfiles("prod");
		assertThatThrownBy(() -> check.postProcessEnvironment(prod, null)).hasMessageContaining("it is not set");
		prod.setProperty("spring.datasource.url", "jdbc:mysql://db:3306/x?password=secret");
		assertThatThrownBy(() -> check.postProcessEnvironment(prod, null)).hasMessageContaining("a mysql URL")
			.hasMessageNotContaining("secret");
		prod.setProperty("spring.datasource.url", "jdbc:postgresql://db:5432/finetune");
		assertThatNoException().isThrownBy(() -> check.postProcessEnvironment(prod, null));

		MockEnvironment laptop = new MockEnvironment().withProperty("spring.datasource.url", "jdbc:h2:file:./data/db");
		assertThatNoException().isThrownBy(() -> check.postProcessEnvironment(laptop, null));
	}

}
