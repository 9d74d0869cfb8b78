package com.acme.finetune.djl;

import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.stereotype.Component;

/** The DJL engine, its version and devices in {@code /actuator/info}. */
@Component
class DjlInfoContributor implements InfoContributor {

	private final DjlRuntime runtime;

	DjlInfoContributor(DjlRuntime runtime) {
		this.runtime = runtime;
	}

	@Override
	public void contribute(Info.Builder builder) {
		builder.withDetail("djl", this.runtime.describe());
	}

}
