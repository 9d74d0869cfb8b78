package com.acme.finetune.job;

import java.util.UUID;

import com.acme.finetune.dataset.DatasetUsage;

import org.springframework.stereotype.Component;

/** Keeps datasets of queued and running jobs from being deleted. */
@Component
class JobDatasetUsage implements DatasetUsage {

	private final JobRepository jobs;

	JobDatasetUsage(JobRepository jobs) {
		this.jobs = jobs;
	}

	@Override
	public boolean isInUse(java.util.UUID datasetId) {
		return this.jobs.existsByDatasetIdAndStatusIn(datasetId,
				java.util.List.of(JobStatus.QUEUED, JobStatus.RUNNING));
	}

}
