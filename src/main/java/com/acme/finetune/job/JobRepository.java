package com.acme.finetune.job;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.transaction.annotation.Transactional;

/**
 * Jobs and their guarded state transitions: every transition names the status it expects,
 * so a cancel racing a finish (or two nodes racing for one job) changes a row at most
 * once.
 */
interface JobRepository extends JpaRepository<JobEntity, UUID>, JpaSpecificationExecutor<JobEntity> {

	Page<JobEntity> findByStatus(JobStatus status, Pageable pageable);

	long countByStatus(JobStatus status);

	Page<JobEntity> findBySweepId(UUID sweepId, Pageable pageable);

	Page<JobEntity> findByStatusAndSweepId(JobStatus status, UUID sweepId, Pageable pageable);

	boolean existsByDatasetIdAndStatusIn(UUID datasetId, Collection<JobStatus> statuses);

	@Query("select distinct j.baseModel from JobEntity j where j.status in :statuses")
	List<String> findBaseModelsByStatusIn(Collection<JobStatus> statuses);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.status = com.acme.finetune.job.JobStatus.RUNNING, j.attempts = j.attempts + 1,
			j.node = :node, j.startedAt = coalesce(j.startedAt, :now), j.updatedAt = :now, j.errorMessage = null,
			j.errorType = null where j.id = :id and j.status = com.acme.finetune.job.JobStatus.QUEUED
			and j.cancelRequested = false""")
	int claim(UUID id, String node, Instant now);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.epoch = :epoch, j.totalEpochs = :totalEpochs, j.step = :step,
			j.totalSteps = :totalSteps, j.percent = :percent, j.etaSeconds = :eta, j.imagesPerSecond = :ips,
			j.updatedAt = :now where j.id = :id and j.status = com.acme.finetune.job.JobStatus.RUNNING""")
	int progress(UUID id, int epoch, int totalEpochs, int step, int totalSteps, double percent, Long eta, Double ips,
			Instant now);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.status = :status, j.modelId = :modelId,
			j.finalMetrics = :finalMetrics, j.percent = 100, j.etaSeconds = 0, j.finishedAt = :now,
			j.updatedAt = :now where j.id = :id and j.status = com.acme.finetune.job.JobStatus.RUNNING""")
	int succeed(UUID id, JobStatus status, UUID modelId, String finalMetrics, Instant now);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.status = :status, j.errorMessage = :message, j.errorType = :type,
			j.finishedAt = :now, j.updatedAt = :now where j.id = :id and j.status in :from""")
	int end(UUID id, JobStatus status, String message, String type, Instant now, Collection<JobStatus> from);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.status = com.acme.finetune.job.JobStatus.QUEUED, j.node = null,
			j.errorMessage = :message, j.errorType = :type, j.updatedAt = :now
			where j.id = :id and j.status = com.acme.finetune.job.JobStatus.RUNNING""")
	int requeue(UUID id, String message, String type, Instant now);

	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.cancelRequested = true, j.updatedAt = :now
			where j.id = :id and j.status = com.acme.finetune.job.JobStatus.RUNNING""")
	int requestCancel(UUID id, Instant now);

	@Query("select j.id from JobEntity j where j.status in :statuses and j.finishedAt < :before")
	List<UUID> findIdsByStatusInAndFinishedAtBefore(Collection<JobStatus> statuses, Instant before);

	/**
	 * Puts a failed or cancelled job back in the queue to continue from its checkpoint;
	 * its attempt limit counts from here.
	 */
	@Transactional
	@Modifying(clearAutomatically = true, flushAutomatically = true)
	@Query("""
			update JobEntity j set j.status = com.acme.finetune.job.JobStatus.QUEUED, j.node = null,
			j.cancelRequested = false, j.attemptsBeforeResume = j.attempts, j.errorMessage = null,
			j.errorType = null, j.finishedAt = null, j.updatedAt = :now where j.id = :id
			and j.status in (com.acme.finetune.job.JobStatus.FAILED, com.acme.finetune.job.JobStatus.CANCELLED)""")
	int resume(UUID id, Instant now);

	@Query("select j.cancelRequested from JobEntity j where j.id = :id")
	boolean isCancelRequested(UUID id);

	/**
	 * Queued and running jobs without an execution in the queue, untouched since
	 * {@code before}: nothing would ever run or end them.
	 */
	@Query(value = ACTIVE_WITHOUT_EXECUTION, nativeQuery = true)
	List<UUID> findActiveWithoutExecution(Instant before);

	/** Portable SQL (PostgreSQL and H2) of {@link #findActiveWithoutExecution}. */
	String ACTIVE_WITHOUT_EXECUTION = """
			select j.id from jobs j where j.status in ('QUEUED', 'RUNNING') and j.updated_at < :before
			and not exists (select 1 from scheduled_tasks s where s.task_name = 'train-job'
			and s.task_instance = cast(j.id as varchar(36)))""";

	@Query("select j.status, count(j) from JobEntity j group by j.status")
	List<Object[]> countByStatus();

}
