package com.acme.finetune.djl;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import com.acme.finetune.training.TrainingPrecision;
import com.acme.finetune.training.artifact.ServingPrecision;

/**
 * The bf16 check's process ({@link Bf16Support}): runs
 * {@link ServingPrecision#selfTest()} and prints one line, {@value #OK} or
 * {@value #REFUSED}{@code <why>}, then {@link TrainingPrecision#selfTest()} and a line
 * {@value #TRAINING_OK} or {@value #TRAINING_REFUSED}{@code <why>}. Where oneDNN's
 * bfloat16 kernels fault on this CPU, this process dies instead of the service.
 */
public final class Bf16CheckMain {

	static final String OK = "@@bf16 ok";

	static final String REFUSED = "@@bf16 refused ";

	static final String TRAINING_OK = "@@bf16-training ok";

	static final String TRAINING_REFUSED = "@@bf16-training refused ";

	private Bf16CheckMain() {
	}

	public static void main(String[] args) {
		PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
		String reason;
		try {
			reason = ServingPrecision.selfTest();
		}
		catch (Throwable ex) {
			reason = ex.toString();
		}
		out.println((reason == null) ? OK : REFUSED + reason.replace('\n', ' '));
		// second, so a fault here leaves the serving answer standing
		try {
			reason = TrainingPrecision.selfTest();
		}
		catch (Throwable ex) {
			reason = ex.toString();
		}
		out.println((reason == null) ? TRAINING_OK : TRAINING_REFUSED + reason.replace('\n', ' '));
		System.exit(0);
	}

}
