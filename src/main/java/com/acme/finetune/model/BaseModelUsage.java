package com.acme.finetune.model;

/**
 * Whether an active job starts from a base model, so it is not deleted under the job:
 * implemented by the job system, asked before a model or an uploaded backbone is deleted.
 */
public interface BaseModelUsage {

	/**
	 * Whether a queued or running job names this base ({@code model:<id>} or a backbone
	 * id).
	 */
	boolean isInUse(String baseModel);

}
