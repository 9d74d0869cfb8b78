package com.acme.finetune.evaluation;

import java.util.UUID;

import com.acme.finetune.dataset.DatasetUsage;

import org.springframework.stereotype.Component;

/** A dataset is not deleted while a queued or running evaluation reads it. */
@Component
class EvaluationDatasetUsage implements DatasetUsage {

	private final EvaluationStore store;

	EvaluationDatasetUsage(EvaluationStore store) {
		this.store = store;
	}

	@Override
	public boolean isInUse(UUID datasetId) {
		return this.store.datasetInUse(datasetId);
	}

}
