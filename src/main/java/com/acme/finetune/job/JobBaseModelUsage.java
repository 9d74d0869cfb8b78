package com.acme.finetune.job;

import java.util.List;
import java.util.Locale;

import com.acme.finetune.model.BaseModelUsage;

import org.springframework.stereotype.Component;

/** Keeps the models and backbones that queued and running jobs start from. */
@Component
class JobBaseModelUsage implements BaseModelUsage {

	private final JobRepository jobs;

	JobBaseModelUsage(JobRepository jobs) {
		this.jobs = jobs;
	}

	@Override
	public boolean isInUse(String baseModel) {
		// as written in the job; model ids compare as UUIDs, whatever their case
		String wanted = baseModel.toLowerCase(Locale.ROOT);
		return this.jobs.findBaseModelsByStatusIn(List.of(JobStatus.QUEUED, JobStatus.RUNNING))
			.stream()
			.anyMatch((base) -> base != null && base.toLowerCase(Locale.ROOT).equals(wanted));
	}

}
