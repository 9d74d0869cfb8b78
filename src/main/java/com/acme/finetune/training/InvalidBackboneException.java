package com.acme.finetune.training;

/**
 * A backbone or base model file that cannot be used: not loadable as TorchScript, fails
 * on a dummy batch, or does not map images to a feature vector. The API maps it to 422.
 */
public class InvalidBackboneException extends RuntimeException {

	public InvalidBackboneException(String message, Throwable cause) {
		super(message, cause);
	}

}
