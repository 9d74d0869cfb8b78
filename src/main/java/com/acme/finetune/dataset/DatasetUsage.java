package com.acme.finetune.dataset;

import java.util.UUID;

/**
 * Implemented by capabilities that use datasets (the job system), so that a dataset is
 * not deleted while an active job reads it. Datasets must not depend on those
 * capabilities, hence the inversion: every bean of this type is asked; none means unused.
 */
public interface DatasetUsage {

	/** Whether an active (queued or running) job uses the dataset. */
	boolean isInUse(UUID datasetId);

}
