package com.acme.finetune.training;

import java.util.List;

/**
 * A TorchScript file that uses operators, names or constructs outside
 * {@link TorchScriptPolicy}'s allow-list; {@link #refused()} names each of them (e.g.
 * {@code aten::from_file}). The API maps it to 422.
 */
public class UnsafeTorchScriptException extends InvalidBackboneException {

	private final List<String> refused;

	public UnsafeTorchScriptException(String message, List<String> refused) {
		super(message, null);
		this.refused = List.copyOf(refused);
	}

	/**
	 * What the file uses that is not allowed, each named once, in order of appearance.
	 */
	public List<String> refused() {
		return this.refused;
	}

}
