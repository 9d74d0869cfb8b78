package com.acme.finetune.security;

import java.util.List;

import jakarta.servlet.http.HttpServletRequest;
import org.junit.jupiter.api.Test;

import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.web.servlet.HandlerExceptionResolver;

import static org.assertj.core.api.Assertions.assertThat;

/** Who a request comes from, as audit records (alias moves) name it. */
class CallerIdentityTests {

	private static final HandlerExceptionResolver NO_RESOLVER = (request, response, handler, ex) -> null;

	@Test
	void anAcceptedKeyIsNamedByItsConfiguredNameNeverByTheKey() throws Exception {
		ApiKeyFilter filter = new ApiKeyFilter(
				new ApiSecurityProperties(List.of("alpha:alpha-key:all", "beta-key"), true), NO_RESOLVER);
		assertThat(callerOf(filter, "alpha-key")).isEqualTo("alpha");
		assertThat(callerOf(filter, "beta-key")).isEqualTo("key-2");
	}

	@Test
	void withoutKeysTheCallerIsAnonymous() throws Exception {
		ApiKeyFilter filter = new ApiKeyFilter(new ApiSecurityProperties(List.of(), true), NO_RESOLVER);
		assertThat(callerOf(filter, null)).isEqualTo(CallerIdentity.ANONYMOUS);
	}

	private static String callerOf(ApiKeyFilter filter, String key) throws Exception {
		MockHttpServletRequest request = new MockHttpServletRequest("PUT", "/api/v1/registered-models/a/aliases/b");
		request.setServletPath("/api/v1/registered-models/a/aliases/b");
		if (key != null) {
			request.addHeader(ApiKeyFilter.API_KEY_HEADER, key);
		}
		MockFilterChain chain = new MockFilterChain();
		filter.doFilter(request, new MockHttpServletResponse(), chain);
		assertThat(chain.getRequest()).as("the request passed the filter").isNotNull();
		return CallerIdentity.of((HttpServletRequest) chain.getRequest());
	}

}
