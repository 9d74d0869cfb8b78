package com.acme.finetune.security;

import java.util.Locale;

/**
 * What an API key may do. Scopes are independent: {@code admin} does not imply
 * {@code read}, so a key gets exactly what its configuration lists (a plain key gets all
 * four). Which endpoint needs which scope is decided in one place,
 * {@link EndpointScopes}.
 */
public enum Scope {

	/** Predictions on models. */
	PREDICT,

	/** Reading datasets, backbones, jobs (metrics, events, reports) and models. */
	READ,

	/** Uploading datasets; submitting, validating and cancelling jobs. */
	TRAIN,

	/** Uploading backbones, every delete, and every endpoint without a mapping. */
	ADMIN;

	/** The name used in configuration and problem bodies, e.g. {@code predict}. */
	public String id() {
		return name().toLowerCase(Locale.ROOT);
	}

	/** The scope named {@code id}, or null if there is none. */
	static Scope of(String id) {
		for (Scope scope : values()) {
			if (scope.id().equals(id)) {
				return scope;
			}
		}
		return null;
	}

}
