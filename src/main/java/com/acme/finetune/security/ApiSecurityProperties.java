package com.acme.finetune.security;

import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Who may call the API.
 *
 * @param apiKeys accepted API keys (env {@code API_KEYS}, comma-separated), each either a
 * plain key (every scope) or {@code name:key:scope+scope} with scopes {@code predict},
 * {@code read}, {@code train}, {@code admin} or {@code all}; none means the API is open,
 * which is the zero-install default
 * @param publicDocs whether the OpenAPI document and Swagger UI stay readable without a
 * key; they describe the API's shape, not its data, and clients need them to learn how to
 * authenticate
 */
@ConfigurationProperties("app.security")
public record ApiSecurityProperties(@DefaultValue List<String> apiKeys, @DefaultValue("true") boolean publicDocs) {

	/**
	 * The request header that carries an API key ({@code Authorization: Bearer} works
	 * too).
	 */
	public static final String API_KEY_HEADER = "X-API-Key";

	/** Keeps the keys out of logs, failure analyses and debuggers' variable views. */
	@Override
	public String toString() {
		return "ApiSecurityProperties[apiKeys=" + ((this.apiKeys != null) ? this.apiKeys.size() : 0)
				+ " configured, publicDocs=" + this.publicDocs + "]";
	}

}
