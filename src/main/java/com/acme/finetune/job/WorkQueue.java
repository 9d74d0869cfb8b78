package com.acme.finetune.job;

import java.util.UUID;

import org.springframework.stereotype.Component;

/**
 * The job queue for the other kinds of {@link QueuedWork}: enqueueing takes part in the
 * caller's transaction, so an item's row and its execution are committed together or not
 * at all.
 */
@Component
public class WorkQueue {

	private final JobQueue queue;

	WorkQueue(JobQueue queue) {
		this.queue = queue;
	}

	/** Queues an item of this kind. */
	public void enqueue(String kind, UUID id) {
		this.queue.enqueue(kind, id);
	}

	/** Removes an item's execution if no worker has picked it yet. */
	public void dequeue(String kind, UUID id) {
		this.queue.dequeue(kind, id);
	}

	/** This node's name, as recorded on the items it runs. */
	public String nodeName() {
		return this.queue.nodeName();
	}

}
