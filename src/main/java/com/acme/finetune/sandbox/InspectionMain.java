package com.acme.finetune.sandbox;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import com.acme.finetune.training.BackboneInfo;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.TorchScriptPolicy;
import com.acme.finetune.training.UnsafeTorchScriptException;

/**
 * The inspection process: loads one TorchScript file, runs it on a dummy batch and
 * reports what it offers (feature size, stages, parameter counts) or why it cannot be
 * used, as one line {@value #PREFIX}{@code <json>} on stdout. It runs in a child JVM with
 * a time and memory limit ({@link TorchScriptSandbox}), so a graph that loops, crashes
 * libtorch or allocates without bound ends this process, not the service.
 */
public final class InspectionMain {

	static final String PREFIX = "@@inspection ";

	private InspectionMain() {
	}

	/** {@code <file> <imageSize>}. */
	public static void main(String[] args) {
		PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
		Report report;
		try {
			Path file = Path.of(args[0]);
			TorchScriptPolicy.check(file);
			BackboneInfo info = new FineTuner().inspect(new BaseModel(BaseModel.Kind.TORCHSCRIPT, "inspection", file),
					Integer.parseInt(args[1]));
			report = new Report(info, null, List.of());
		}
		catch (UnsafeTorchScriptException ex) {
			report = new Report(null, shorten(ex.getMessage()), ex.refused());
		}
		catch (InvalidBackboneException ex) {
			report = new Report(null, shorten(ex.getMessage()), List.of());
		}
		catch (Throwable ex) {
			report = new Report(null, shorten("The file could not be loaded as a TorchScript backbone: " + ex),
					List.of());
		}
		out.println(PREFIX + TorchScriptSandbox.JSON.writeValueAsString(report));
		System.exit(0);
	}

	/** libtorch's messages quote the offending source, which can be long. */
	private static String shorten(String message) {
		return (message == null || message.length() <= 4000) ? message : message.substring(0, 4000) + "…";
	}

	/**
	 * What the inspection found: {@code info}, or {@code error} (and what was refused).
	 */
	record Report(BackboneInfo info, String error, List<String> refused) {
	}

}
