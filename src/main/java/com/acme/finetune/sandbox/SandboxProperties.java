package com.acme.finetune.sandbox;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * The sandbox that inspects TorchScript the service has not accepted yet (uploads, and
 * backbones and models from before inspection existed) in a child JVM.
 *
 * @param timeout wall-clock limit of one inspection, JVM and engine start included (about
 * 5 s on 2 cores; a ResNet-50 about 10 s); past it the process is killed and the file
 * refused
 * @param memoryLimit address space of the inspection process ({@code ulimit -v}): native
 * allocations beyond it fail, so a graph cannot exhaust the node's memory (a ResNet-50
 * needs under 2 GB)
 * @param threads PyTorch threads of the inspection, so it cannot take every core from the
 * service
 * @param maxConcurrent inspections running at once; more wait up to {@code timeout}, then
 * get 503
 * @param jvmOptions JVM options of the inspection process (libtorch's memory lives
 * outside the heap)
 */
@Validated
@ConfigurationProperties("app.sandbox")
public record SandboxProperties(@DefaultValue("60s") Duration timeout, @DefaultValue("4GB") DataSize memoryLimit,
		@DefaultValue("1") @Min(1) @Max(64) int threads, @DefaultValue("2") @Min(1) @Max(16) int maxConcurrent,
		@DefaultValue( {
				"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CompressedClassSpaceSize=128m",
				"-XX:ReservedCodeCacheSize=64m", "-XX:-CreateCoredumpOnCrash" }) List<String> jvmOptions){
}
