package com.acme.finetune.storage;

import java.nio.file.Path;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

import jakarta.validation.constraints.NotNull;

/**
 * Where artifacts (dataset images, backbones, models, embedding caches) live.
 *
 * @param root the artifact root; a shared volume when several replicas run
 * @param minFreeBytes below this much free space the storage health check reports DOWN
 */
@Validated
@ConfigurationProperties("app.storage")
public record StorageProperties(@NotNull @DefaultValue("./data/artifacts") Path root,
		@DefaultValue("536870912") long minFreeBytes) {
}
