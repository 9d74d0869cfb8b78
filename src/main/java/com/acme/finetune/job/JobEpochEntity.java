package com.acme.finetune.job;

import java.io.Serializable;
import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

/** One epoch's metrics of a job. */
@Entity
@Table(name = "job_epochs")
@IdClass(JobEpochEntity.Key.class)
class JobEpochEntity {

	@Id
	UUID jobId;

	@Id
	int epoch;

	double trainLoss;

	double trainAccuracy;

	double valLoss;

	double valAccuracy;

	double learningRate;

	long durationMs;

	double imagesPerSecond;

	/** The 0-based phase of the job's freeze schedule. */
	int phase;

	/** That phase's freeze bound. */
	String frozenUpTo;

	record Key(UUID jobId, int epoch) implements Serializable {
	}

}
