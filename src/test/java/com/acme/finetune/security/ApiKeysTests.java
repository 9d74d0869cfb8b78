package com.acme.finetune.security;

import java.util.EnumSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

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
	void plainKeysHoldEveryScopeAndAreNamedByPosition() {
		ApiKeys keys = ApiKeys.of(List.of("alpha-key", "ci:ci-key:read", "beta-key", "alpha-key"));
		assertThat(keys.size()).isEqualTo(3);
		assertThat(keys.find("alpha-key")).contains(new ApiCaller("key-1", EnumSet.allOf(Scope.class)));
		assertThat(keys.find("beta-key")).contains(new ApiCaller("key-3", EnumSet.allOf(Scope.class)));
	}

	@Test
	void namedKeysCarryTheirScopes() {
		ApiKeys keys = ApiKeys.of(List.of("ci:ci-key:read+train", "web:web-key:predict", "ops:ops:key:with:colons:all",
				" spaced : spaced-key : read + admin "));
		assertThat(keys.find("ci-key")).contains(new ApiCaller("ci", EnumSet.of(Scope.READ, Scope.TRAIN)));
		assertThat(keys.find("web-key")).contains(new ApiCaller("web", EnumSet.of(Scope.PREDICT)));
		// the key is everything between the first and the last colon
		assertThat(keys.find("ops:key:with:colons")).contains(new ApiCaller("ops", EnumSet.allOf(Scope.class)));
		assertThat(keys.find("spaced-key")).contains(new ApiCaller("spaced", EnumSet.of(Scope.READ, Scope.ADMIN)));
		assertThat(keys.find("ci")).isEmpty();
		assertThat(keys.find("read+train")).isEmpty();
	}

	@Test
	void mistakesFailTheStartWithoutShowingTheKey() {
		assertRefused("ci:secret-1:read+raed", "entry #1 ('ci') has an unknown scope 'raed'");
		assertRefused("ci:secret-1:", "unknown scope ''");
		assertRefused("ci:secret-1:read+", "unknown scope ''");
		assertRefused("name-only:secret-1", "has one ':'");
		assertRefused(":secret-1:read", "has no valid name");
		assertRefused("bad name!:secret-1:read", "has no valid name");
		assertRefused("ci: :read", "entry #1 ('ci') has an empty key");
		assertRefused("a:secret-1:read,b:secret-1:admin", "entry #2 ('b') carries the same key as entry 'a'");
		assertRefused("a:secret-1:read,a:secret-2:admin", "entry #2 ('a') reuses a name");
		assertRefused("secret-1,secret-1x,key-2:secret-2:read", "entry #3 ('key-2') reuses a name");
	}

	private static void assertRefused(String entries, String message) {
		assertThatIllegalArgumentException().isThrownBy(() -> ApiKeys.of(List.of(entries.split(","))))
			.withMessageContaining(message)
			.withMessageNotContaining("secret-1")
			.withMessageNotContaining("secret-2");
	}

	@Test
	void keysNeverAppearInToString() {
		ApiKeys keys = ApiKeys.of(List.of("super-secret-value", "n:other-secret:read"));
		assertThat(keys.toString()).doesNotContain("super-secret-value").doesNotContain("other-secret");
		ApiSecurityProperties properties = new ApiSecurityProperties(List.of("super-secret-value"), true);
		assertThat(properties.toString()).doesNotContain("super-secret-value").contains("1 configured");
	}

}
