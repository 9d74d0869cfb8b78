package com.acme.finetune.evaluation;

import java.util.UUID;

import com.acme.finetune.dataset.DatasetUsage;

import org.springframework.stereotype.Component;

/**
 * A dataset is not deleted while a queued or running evaluation or batch prediction reads
 * it.
 */
@Component
class EvaluationDatasetUsage implements DatasetUsage {

	private final EvaluationStore store;

	private final BatchPredictionStore batches;

	EvaluationDatasetUsage(EvaluationStore store, BatchPredictionStore batches) {
		this.store = store;
		this.batches = batches;
	}

	@Override
	public boolean isInUse(UUID datasetId) {
		return this.store.datasetInUse(datasetId) || this.batches.datasetInUse(datasetId);
	}

}
