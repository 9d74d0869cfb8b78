package com.acme.finetune.dataset.intake;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;

/**
 * Limits and thresholds of dataset intake. The extraction limits defend against zip bombs
 * and are enforced on the bytes actually decompressed, never on header sizes.
 *
 * @param maxEntries most archive entries (files, folders, links) read before refusing
 * @param maxTotalUncompressedBytes most bytes decompressed from one archive
 * @param maxCompressionRatio most uncompressed/compressed ratio, per entry and for the
 * whole archive, once more than {@code ratioThresholdBytes} came out
 * @param ratioThresholdBytes output below which the ratio is not judged, because small
 * files (e.g. flat-colour images) legitimately compress very well
 * @param maxPixels most pixels (width × height) an image may declare; checked from the
 * header before any decoding (decompression bombs)
 * @param minImagesPerClass fewest images a class may have
 * @param tinyImageSide images with a side shorter than this are reported as tiny
 * @param imbalanceRatio largest/smallest class size above which imbalance is reported
 * @param defaultValidationSplit share of each class held out when the archive has no
 * {@code val/}
 * @param minFreeDiskBytes space an upload must leave free on the artifact filesystem;
 * writing stops with a 507 before that (uploads, extraction)
 */
@Validated
@ConfigurationProperties("app.datasets")
public record DatasetProperties(@Min(1) @DefaultValue("100000") int maxEntries,
		@Min(1) @DefaultValue("10737418240") long maxTotalUncompressedBytes,
		@Min(1) @DefaultValue("100") int maxCompressionRatio, @Min(0) @DefaultValue("1048576") long ratioThresholdBytes,
		@Min(1) @DefaultValue("50000000") long maxPixels, @Min(1) @DefaultValue("2") int minImagesPerClass,
		@Min(1) @DefaultValue("32") int tinyImageSide, @DecimalMin("1.0") @DefaultValue("10") double imbalanceRatio,
		@DecimalMin("0.0") @DecimalMax("0.5") @DefaultValue("0.2") double defaultValidationSplit,
		@Min(0) @DefaultValue("268435456") long minFreeDiskBytes) {
}
