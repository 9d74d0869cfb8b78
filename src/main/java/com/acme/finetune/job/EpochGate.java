package com.acme.finetune.job;

import java.util.UUID;

/**
 * Decides, at an epoch boundary, whether a job goes on training: how sweeps stop their
 * trials early. The worker asks after each epoch's metrics are stored (the training
 * process waits for the answer), and a job told to stop ends
 * {@link JobStatus#STOPPED_EARLY} with the model of its best epoch so far.
 * Implementations must give the same answer when asked again for the same job and epoch
 * (a retried attempt asks again).
 */
public interface EpochGate {

	/** Whether the job's training process must wait for a decision after each epoch. */
	boolean gates(UUID jobId);

	/**
	 * After {@code epoch} (1-based) of the job has been recorded: true to go on, false to
	 * stop now.
	 */
	boolean proceed(UUID jobId, int epoch);

	/** Whether the job was told to stop (asked when an attempt is recovered). */
	boolean stopped(UUID jobId);

	/** Lets every job run to the end. */
	EpochGate NONE = new EpochGate() {

		@Override
		public boolean gates(UUID jobId) {
			return false;
		}

		@Override
		public boolean proceed(UUID jobId, int epoch) {
			return true;
		}

		@Override
		public boolean stopped(UUID jobId) {
			return false;
		}

	};

}
