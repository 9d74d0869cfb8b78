package com.acme.finetune.job;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * The job system.
 *
 * @param maxConcurrentJobs training jobs this worker runs at once: two PyTorch jobs on
 * two cores slow each other down badly, so the default is one
 * @param maxAttempts how many times a job is started before a dying worker or crashing
 * training process makes it FAILED
 * @param pollingInterval how often an idle worker looks for queued jobs
 * @param heartbeatInterval how often a worker renews the lease of the jobs it runs
 * @param missedHeartbeats after this many missed heartbeats another worker treats the
 * job's node as dead and requeues the job
 * @param shutdownGrace how long a stopping worker waits for its jobs to reach a step
 * boundary and hand themselves back to the queue
 * @param retryDelay delay before a job that lost its worker or process is started again
 * @param nodeName this node's name (default: host name and process id)
 * @param childJvmOptions JVM options of the training process (native memory lives outside
 * the heap, so the heap can stay small)
 * @param callbackSecret HMAC-SHA256 key for callback signatures (empty = unsigned)
 * @param callbackMaxRetries retries of a failing callback, with exponential backoff
 * @param checkpointRetention how long the checkpoints of a failed or cancelled job are
 * kept for {@code POST /jobs/{id}:resume}
 */
@Validated
@ConfigurationProperties("app.jobs")
public record JobProperties(@DefaultValue("1") @Min(1) @Max(64) int maxConcurrentJobs,
		@DefaultValue("3") @Min(1) int maxAttempts, @DefaultValue("2s") Duration pollingInterval,
		@DefaultValue("10s") Duration heartbeatInterval, @DefaultValue("6") @Min(4) int missedHeartbeats,
		@DefaultValue("60s") Duration shutdownGrace, @DefaultValue("5s") Duration retryDelay, String nodeName,
		@DefaultValue( {
				"-Xmx1g", "-XX:+ExitOnOutOfMemoryError" }) List<String> childJvmOptions,
		@DefaultValue("") String callbackSecret, @DefaultValue("8") int callbackMaxRetries,
		@DefaultValue("7d") Duration checkpointRetention){
}
