package com.acme.finetune;

import com.acme.finetune.djl.DjlRuntime;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

class ApplicationTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Autowired
	DjlRuntime djl;

	@Test
	void healthShowsDatabaseStorageAndEngine() {
		this.djl.engine();
		this.client.get()
			.uri("/actuator/health")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.status")
			.isEqualTo("UP")
			.jsonPath("$.components.db.details.database")
			.isEqualTo("PostgreSQL")
			.jsonPath("$.components.storage.status")
			.isEqualTo("UP")
			.jsonPath("$.components.djl.details.state")
			.isEqualTo("loaded")
			.jsonPath("$.components.djl.details.version")
			.isEqualTo("2.7.1");
	}

	@Test
	void probesAreOpen() {
		this.client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
		this.client.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();
	}

	@Test
	void infoShowsBuildAndEngine() {
		this.client.get()
			.uri("/actuator/info")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.build.artifact")
			.isEqualTo("finetune-service")
			.jsonPath("$.djl.engine")
			.isEqualTo("PyTorch");
	}

	@Test
	void unknownRouteIsAProblem() {
		this.client.get()
			.uri("/api/v1/nothing-here")
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo(ProblemType.NOT_FOUND.uri().toString())
			.jsonPath("$.status")
			.isEqualTo(404);
		assertThat(ProblemType.NOT_FOUND.uri().toString()).startsWith(ProblemType.BASE_URI);
	}

}
