package com.acme.finetune.job;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.FineTuner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Where a job's training checkpoints live ({@code jobs/<id>/checkpoints} in the artifact
 * store, beside its attempts and kept across them) and how long: removed when the job
 * succeeds (its model holds the result), kept for {@code app.jobs.checkpoint-retention}
 * after it failed or was cancelled so that {@code POST /jobs/{id}:resume} can continue
 * it.
 */
@Component
class JobCheckpoints {

	private static final Logger log = LoggerFactory.getLogger(JobCheckpoints.class);

	private final ArtifactStore store;

	private final JobRepository jobs;

	private final JobProperties properties;

	JobCheckpoints(ArtifactStore store, JobRepository jobs, JobProperties properties) {
		this.store = store;
		this.jobs = jobs;
		this.properties = properties;
	}

	Path dir(UUID jobId) {
		return this.store.area("jobs", jobId.toString()).resolve("checkpoints");
	}

	/** Epochs the job's newest checkpoint holds; 0 when it has none. */
	int completedEpochs(UUID jobId) {
		return FineTuner.checkpointedEpochs(dir(jobId));
	}

	void delete(UUID jobId) {
		try {
			ArtifactStore.deleteRecursively(dir(jobId));
		}
		catch (IOException ex) {
			log.warn("Could not delete the checkpoints of job {}: {}", jobId, ex.toString());
		}
	}

	/** Deletes the checkpoints of jobs that ended unsuccessfully longer ago than kept. */
	@Scheduled(fixedDelayString = "${app.jobs.checkpoint-sweep:1h}", initialDelay = 60_000)
	void sweep() {
		Instant before = Instant.now().minus(this.properties.checkpointRetention());
		for (UUID id : this.jobs.findIdsByStatusInAndFinishedAtBefore(List.of(JobStatus.FAILED, JobStatus.CANCELLED),
				before)) {
			if (completedEpochs(id) > 0) {
				log.info("Deleting the checkpoints of job {}: ended before {}", id, before);
				delete(id);
			}
		}
	}

}
