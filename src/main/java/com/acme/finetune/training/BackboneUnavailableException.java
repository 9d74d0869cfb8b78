package com.acme.finetune.training;

/**
 * The base model's weights are not on this node and cannot be fetched (e.g. offline); the
 * message says how to provide them. The API maps it to a 4xx problem.
 */
public class BackboneUnavailableException extends RuntimeException {

	public BackboneUnavailableException(String message, Throwable cause) {
		super(message, cause);
	}

}
