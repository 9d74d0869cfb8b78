package com.acme.finetune.djl;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/**
 * The DJL engine in {@code /actuator/health}: UP once loaded or while not yet needed,
 * DOWN when it failed to start (no job or prediction could run).
 */
@Component("djl")
class DjlHealthIndicator extends AbstractHealthIndicator {

	private final DjlRuntime runtime;

	DjlHealthIndicator(DjlRuntime runtime) {
		this.runtime = runtime;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		(this.runtime.hasFailed() ? builder.down() : builder.up()).withDetails(this.runtime.describe());
	}

}
