package com.acme.finetune.job;

import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.transaction.annotation.Transactional;

interface JobEpochRepository extends JpaRepository<JobEpochEntity, JobEpochEntity.Key> {

	List<JobEpochEntity> findByJobIdOrderByEpoch(UUID jobId);

	@Transactional
	@Modifying
	@Query("delete from JobEpochEntity e where e.jobId = :jobId")
	void deleteByJobId(UUID jobId);

	/** Forgets epochs a resumed attempt will train again (after its checkpoint). */
	@Transactional
	@Modifying
	@Query("delete from JobEpochEntity e where e.jobId = :jobId and e.epoch > :epoch")
	void deleteByJobIdAfter(UUID jobId, int epoch);

}
