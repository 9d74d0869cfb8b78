package com.acme.finetune;

import java.util.List;
import java.util.Locale;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * What this node does: {@code api} (HTTP API and inference) and/or {@code worker} (runs
 * training jobs). One image, many replicas: the deployment sets {@code APP_ROLES}.
 */
@ConfigurationProperties("app")
public record AppRoles(@DefaultValue( {
		"api", "worker" }) List<String> roles){

	public boolean api() {
		return has("api");
	}

	public boolean worker() {
		return has("worker");
	}

	private boolean has(String role) {
		return this.roles.stream().anyMatch((r) -> r.trim().toLowerCase(Locale.ROOT).equals(role));
	}

}
