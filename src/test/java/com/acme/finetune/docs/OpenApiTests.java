package com.acme.finetune.docs;

import com.acme.finetune.AbstractIntegrationTests;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

class OpenApiTests extends AbstractIntegrationTests {

	@Autowired
	RestTestClient client;

	@Test
	void apiDocsDescribeTheServiceAndItsSecurity() {
		this.client.get()
			.uri("/v3/api-docs")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
			.expectBody()
			.jsonPath("$.info.title")
			.isEqualTo(OpenApiConfiguration.TITLE)
			.jsonPath("$.info.version")
			.isEqualTo("0.1.0-SNAPSHOT")
			.jsonPath("$.components.securitySchemes.apiKey.name")
			.isEqualTo("X-API-Key")
			.jsonPath("$.components.securitySchemes.bearer.scheme")
			.isEqualTo("bearer");
	}

	@Test
	void swaggerUiIsServed() {
		this.client.get()
			.uri("/swagger-ui/index.html")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_HTML);
	}

}
