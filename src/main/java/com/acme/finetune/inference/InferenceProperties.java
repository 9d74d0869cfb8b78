package com.acme.finetune.inference;

import java.time.Duration;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * How models are kept in memory and how predictions are batched.
 *
 * @param maxLoadedModels at most this many models stay loaded (least recently used ones
 * are evicted and their native memory freed)
 * @param memoryBudget loaded models' weights (artifact size on disk) may not exceed this
 * in total; the most recently used model always stays, even if alone it is larger
 * @param maxBatchSize at most this many images go through one forward pass; 1 turns
 * dynamic batching off
 * @param maxBatchDelay how long a worker holding images waits, at most, for more: it
 * waits only while fewer images are in its batch than requests were in flight when its
 * previous batch ended (or are in flight now), so a lone client never waits
 * @param queueCapacity images waiting per model; beyond this a request is answered 503
 * with {@code Retry-After}
 * @param workersPerModel threads (each with its own predictor) per model; on a small CPU
 * one worker already keeps every core busy inside PyTorch
 * @param maxImagesPerRequest images in one request, at most
 * @param maxImagePixels width × height an image may declare, checked from its header
 * before it is decoded
 * @param retryAfter what {@code Retry-After} says when the queue is full
 * @param requestTimeout how long a request waits for its predictions before a 503
 * @param device {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param warmUp run one dummy batch when a model is loaded, so the first real request
 * does not pay for PyTorch's first-run set-up
 * @param maxRequestSize bytes of one prediction request, at most (checked from
 * {@code Content-Length} before the body is read, and from the parts' sizes)
 * @param maxRequestPixels width × height declared by all images of one request together,
 * at most: bounds the decoding work one request may ask for
 * @param maxImageMemory heap that decoded images may hold at once, all models together,
 * from decoding to the end of their forward pass; a request that does not fit now is
 * answered 503 with {@code Retry-After}, one that could never fit 413
 * @param decodeThreads images decoded at once across all requests (a decoder may hold a
 * full-size image for a moment); 0 means one per CPU
 */
@ConfigurationProperties("app.inference")
@Validated
public record InferenceProperties(@DefaultValue("3") @Min(1) int maxLoadedModels,
		@DefaultValue("2GB") @NotNull DataSize memoryBudget, @DefaultValue("16") @Min(1) int maxBatchSize,
		@DefaultValue("100ms") @NotNull Duration maxBatchDelay, @DefaultValue("256") @Min(1) int queueCapacity,
		@DefaultValue("1") @Min(1) int workersPerModel, @DefaultValue("32") @Min(1) int maxImagesPerRequest,
		@DefaultValue("40000000") @Min(1) long maxImagePixels, @DefaultValue("1s") @NotNull Duration retryAfter,
		@DefaultValue("60s") @NotNull Duration requestTimeout, @DefaultValue("auto") @NotBlank String device,
		@DefaultValue("true") boolean warmUp, @DefaultValue("64MB") @NotNull DataSize maxRequestSize,
		@DefaultValue("200000000") @Min(1) long maxRequestPixels,
		@DefaultValue("256MB") @NotNull DataSize maxImageMemory, @DefaultValue("0") @Min(0) int decodeThreads) {

	/** {@link #decodeThreads()} with 0 resolved to the number of CPUs. */
	int effectiveDecodeThreads() {
		return (this.decodeThreads > 0) ? this.decodeThreads : Runtime.getRuntime().availableProcessors();
	}

}
