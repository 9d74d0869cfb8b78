package com.acme.finetune.job;

import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;

interface JobEpochRepository extends JpaRepository<JobEpochEntity, JobEpochEntity.Key> {

	List<JobEpochEntity> findByJobIdOrderByEpoch(UUID jobId);

	void deleteByJobId(UUID jobId);

}
