package com.acme.finetune.djl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.acme.finetune.process.ChildJvm;
import com.acme.finetune.training.artifact.ServingPrecision;

import org.springframework.stereotype.Component;

/**
 * Whether this process can serve models and train in bfloat16: the CPU's native bf16
 * flags, and a check run once, on first need, in a child process ({@link Bf16CheckMain}):
 * a random ResNet-50 on oneDNN's blocked layout must compute in bfloat16 what it computes
 * in float, and one training step in bf16 mixed precision must give the logits and
 * gradients fp32 gives. oneDNN picks its kernels by CPU; one that faults (as its
 * channels-last kernels did on CPUs that report no cache sizes) then kills the child, and
 * models serve and train in fp32.
 */
@Component
public class Bf16Support {

	private static final Logger log = LoggerFactory.getLogger(Bf16Support.class);

	private static final long TIMEOUT_SECONDS = 300;

	private final DjlRuntime runtime;

	private final boolean enabled;

	private volatile String result;

	private volatile String trainingResult;

	private volatile boolean checked;

	public Bf16Support(DjlRuntime runtime, DjlProperties properties) {
		this.runtime = runtime;
		this.enabled = properties.bf16();
	}

	/**
	 * The precision a model that asked for {@code requested} is tried in: fp32 when this
	 * service serves fp32 only ({@code app.djl.bf16=false}).
	 */
	public String effective(String requested) {
		return this.enabled ? ServingPrecision.requested(requested) : ServingPrecision.FP32;
	}

	/** Whether models may serve in bfloat16 at all ({@code app.djl.bf16}). */
	public boolean enabled() {
		return this.enabled;
	}

	/** Whether the CPU has native bf16 instructions ({@code avx512_bf16} or AMX). */
	public boolean cpuNative() {
		return ServingPrecision.CPU_NATIVE_BF16;
	}

	/**
	 * Null when bfloat16 serving runs right in this process, else why not; the first call
	 * runs the check (seconds: a JVM and the engine start), later ones return its result.
	 */
	public String check() {
		return results()[0];
	}

	/**
	 * Null when bf16 mixed-precision training runs right in this process, else why not.
	 */
	public String trainingCheck() {
		return results()[1];
	}

	/**
	 * The training precision a job that asked for {@code requested} is given:
	 * {@code fp32} when this service runs fp32 only or bf16 training failed its check,
	 * else the request ({@code auto} or {@code bf16}, decided for the network and device
	 * when the run starts).
	 */
	public String trainingPrecision(String requested) {
		String precision = effective(requested);
		if (ServingPrecision.FP32.equals(precision) || trainingCheck() != null) {
			return ServingPrecision.FP32;
		}
		return precision;
	}

	private String[] results() {
		if (!this.checked) {
			synchronized (this) {
				if (!this.checked) {
					String[] results = runCheck();
					this.result = results[0];
					this.trainingResult = results[1];
					this.checked = true;
					log.info("bf16 serving: {}", (this.result == null) ? "available" : this.result);
					log.info("bf16 training: {}", (this.trainingResult == null) ? "available" : this.trainingResult);
				}
			}
		}
		return new String[] { this.result, this.trainingResult };
	}

	/** The serving and the training answer, each null when bf16 works. */
	private String[] runCheck() {
		this.runtime.engine();
		Path workDir = null;
		try {
			workDir = Files.createTempDirectory("bf16-check");
			Path outputFile = workDir.resolve("output.txt");
			Process process = ChildJvm.builder(Bf16CheckMain.class, List.of(), List.of("-Xmx256m"), workDir, 0)
				.redirectOutput(outputFile.toFile())
				.start();
			if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
				ChildJvm.kill(process);
				return both("the bf16 check did not finish within " + TIMEOUT_SECONDS + " s");
			}
			String output = Files.readString(outputFile, StandardCharsets.UTF_8);
			String tail = output.strip();
			tail = tail.substring(Math.max(0, tail.length() - 300));
			String noAnswer = "the bf16 check's process ended with exit code " + process.exitValue() + " and no answer"
					+ (tail.isEmpty() ? "" : ": " + tail);
			String[] results = both(noAnswer);
			for (String line : output.split("\n")) {
				if (line.startsWith(Bf16CheckMain.OK)) {
					results[0] = null;
				}
				else if (line.startsWith(Bf16CheckMain.REFUSED)) {
					results[0] = line.substring(Bf16CheckMain.REFUSED.length()).trim();
				}
				else if (line.startsWith(Bf16CheckMain.TRAINING_OK)) {
					results[1] = null;
				}
				else if (line.startsWith(Bf16CheckMain.TRAINING_REFUSED)) {
					results[1] = line.substring(Bf16CheckMain.TRAINING_REFUSED.length()).trim();
				}
			}
			return results;
		}
		catch (IOException ex) {
			return both("the bf16 check could not run: " + ex.getMessage());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return both("the bf16 check was interrupted");
		}
		finally {
			deleteQuietly(workDir);
		}
	}

	private static String[] both(String reason) {
		return new String[] { reason, reason };
	}

	private static void deleteQuietly(Path dir) {
		if (dir == null) {
			return;
		}
		try (Stream<Path> files = Files.walk(dir)) {
			files.sorted(Comparator.reverseOrder()).forEach((p) -> p.toFile().delete());
		}
		catch (IOException ex) {
			// a temporary folder: the OS cleans it
		}
	}

	/** For {@code /actuator/info}: the CPU flag and, once run, the check's result. */
	public Map<String, Object> describe() {
		Map<String, Object> info = new LinkedHashMap<>();
		info.put("enabled", this.enabled);
		info.put("cpuNativeBf16", cpuNative());
		info.put("bf16Check", !this.checked ? "not run yet" : (this.result == null) ? "passed" : this.result);
		info.put("bf16TrainingCheck",
				!this.checked ? "not run yet" : (this.trainingResult == null) ? "passed" : this.trainingResult);
		return info;
	}

}
