package com.acme.finetune.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.FileStore;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/**
 * Reports the artifact root's free space; DOWN below the configured minimum, because
 * uploads and training would then fail half-way.
 */
@Component("storage")
class StorageHealthIndicator extends AbstractHealthIndicator {

	private final ArtifactStore store;

	private final StorageProperties properties;

	StorageHealthIndicator(ArtifactStore store, StorageProperties properties) {
		this.store = store;
		this.properties = properties;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) throws IOException {
		FileStore fileStore = Files.getFileStore(this.store.root());
		long free = fileStore.getUsableSpace();
		builder.status((free >= this.properties.minFreeBytes()) ? "UP" : "DOWN")
			.withDetail("root", this.store.root().toString())
			.withDetail("freeBytes", free)
			.withDetail("totalBytes", fileStore.getTotalSpace())
			.withDetail("minFreeBytes", this.properties.minFreeBytes());
	}

}
