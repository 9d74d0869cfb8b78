package com.acme.finetune.djl;

import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.stereotype.Component;

/**
 * The DJL engine, its version and devices, and bf16 serving in {@code /actuator/info}.
 */
@Component
class DjlInfoContributor implements InfoContributor {

	private final DjlRuntime runtime;

	private final Bf16Support bf16;

	DjlInfoContributor(DjlRuntime runtime, Bf16Support bf16) {
		this.runtime = runtime;
		this.bf16 = bf16;
	}

	@Override
	public void contribute(Info.Builder builder) {
		builder.withDetail("djl", this.runtime.describe());
		builder.withDetail("bf16", this.bf16.describe());
	}

}
