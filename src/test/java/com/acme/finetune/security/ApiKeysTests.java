package com.acme.finetune.security;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeysTests {

	@Test
	void noKeysMeansOpen() {
		assertThat(ApiKeys.of(List.of()).enabled()).isFalse();
		assertThat(ApiKeys.of(null).enabled()).isFalse();
		// API_KEYS= (empty) binds to one blank entry
		assertThat(ApiKeys.of(List.of("", "  ")).enabled()).isFalse();
	}

	@Test
	void matchesOnlyConfiguredKeys() {
		ApiKeys keys = ApiKeys.of(List.of("alpha-key", " beta-key "));
		assertThat(keys.enabled()).isTrue();
		assertThat(keys.size()).isEqualTo(2);
		assertThat(keys.matches("alpha-key")).isTrue();
		assertThat(keys.matches("beta-key")).isTrue();
		assertThat(keys.matches("alpha-key ")).isFalse();
		assertThat(keys.matches("ALPHA-KEY")).isFalse();
		assertThat(keys.matches("")).isFalse();
	}

	@Test
	void keysNeverAppearInToString() {
		ApiKeys keys = ApiKeys.of(List.of("super-secret-value"));
		assertThat(keys.toString()).doesNotContain("super-secret-value");
		ApiSecurityProperties properties = new ApiSecurityProperties(List.of("super-secret-value"), true);
		assertThat(properties.toString()).doesNotContain("super-secret-value").contains("1 configured");
	}

}
