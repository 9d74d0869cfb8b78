package com.acme.finetune.inference;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap that decoded prediction images may hold at once, over all models: a request
 * reserves its images' bytes before decoding them and gives them back when its last
 * forward pass is done. Counting images alone would let 256 large ones queue up (issue
 * 14); counting bytes bounds the heap whatever their size.
 */
final class ImageMemory {

	private final long capacity;

	private final AtomicLong used = new AtomicLong();

	ImageMemory(long capacity) {
		this.capacity = capacity;
	}

	long capacity() {
		return this.capacity;
	}

	long used() {
		return this.used.get();
	}

	/**
	 * Reserves {@code bytes}, all or nothing.
	 * @return the reservation, or null when it does not fit now
	 */
	Reservation tryReserve(long bytes) {
		long current;
		do {
			current = this.used.get();
			if (current + bytes > this.capacity) {
				return null;
			}
		}
		while (!this.used.compareAndSet(current, current + bytes));
		return new Reservation(bytes);
	}

	/** Bytes held for one request; closing gives them back (once). */
	final class Reservation implements AutoCloseable {

		private final AtomicBoolean closed = new AtomicBoolean();

		private long bytes;

		private Reservation(long bytes) {
			this.bytes = bytes;
		}

		/**
		 * Replaces the estimate with what the decoded images really hold (may exceed the
		 * capacity a little: the images exist already).
		 */
		synchronized void adjust(long actual) {
			if (!this.closed.get()) {
				ImageMemory.this.used.addAndGet(actual - this.bytes);
				this.bytes = actual;
			}
		}

		@Override
		public synchronized void close() {
			if (this.closed.compareAndSet(false, true)) {
				ImageMemory.this.used.addAndGet(-this.bytes);
			}
		}

	}

}
