package com.acme.finetune.job;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.job.TrainingProcessProtocol.Message;
import com.acme.finetune.job.TrainingProcessProtocol.Request;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.TrainingCancelledException;
import com.acme.finetune.training.TrainingListener;
import com.acme.finetune.training.TrainingResult;
import org.slf4j.MDC;

/**
 * The training process: one JVM per job attempt, started by a worker, so a native crash,
 * an out-of-memory kill or a hang in libtorch ends this process and not the service. It
 * runs the plain-Java training core and reports through {@link TrainingProcessProtocol}.
 */
public final class TrainingProcessMain {

	private static final PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out),
			true, StandardCharsets.UTF_8);

	private static volatile boolean stopRequested;

	/** Answers to gate messages, in order. */
	private static final BlockingQueue<String> answers = new LinkedBlockingQueue<>();

	private TrainingProcessMain() {
	}

	public static void main(String[] args) throws Exception {
		Request request = TrainingProcessProtocol.JSON.readValue(Files.readString(Path.of(args[0])), Request.class);
		correlateLogs(request.traceparent());
		watchStdin();
		TrainingListener listener = new TrainingListener() {

			@Override
			public void onStart(int totalEpochs, int stepsPerEpoch, int completedEpochs) {
				send(Message.start(totalEpochs, stepsPerEpoch, completedEpochs));
			}

			@Override
			public void onStep(int epoch, int step, int stepsPerEpoch, double loss, double imagesPerSecond) {
				send(Message.step(epoch, step, stepsPerEpoch, loss, imagesPerSecond));
			}

			@Override
			public void onEpoch(EpochMetrics metrics) {
				send(Message.epoch(metrics));
			}

			@Override
			public boolean isCancelled() {
				return stopRequested;
			}

			@Override
			public boolean stopAfterEpoch(int epoch) {
				if (!request.gated()) {
					return false;
				}
				send(Message.gate(epoch));
				try {
					while (!stopRequested) {
						String answer = answers.poll(200, TimeUnit.MILLISECONDS);
						if (answer != null) {
							return TrainingProcessProtocol.HALT.equals(answer);
						}
					}
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
				// cancelled or stopping while waiting: the next step check ends the run
				return false;
			}

		};
		int exitCode;
		try {
			TrainingResult result = new FineTuner().train(request.training(), request.data(), listener);
			send(Message.result(result));
			exitCode = 0;
		}
		catch (TrainingCancelledException ex) {
			send(Message.cancelled());
			exitCode = 0;
		}
		catch (Throwable ex) {
			ex.printStackTrace(System.err);
			send(Message.error(ex));
			exitCode = 2;
		}
		System.exit(exitCode);
	}

	/**
	 * Puts the job attempt's trace and span ids (from its W3C {@code traceparent},
	 * {@code 00-<trace id>-<span id>-<flags>}) where log patterns read them, so what this
	 * process logs joins the attempt's trace. Its epochs' spans are made by the worker.
	 */
	static void correlateLogs(String traceparent) {
		if (traceparent == null) {
			return;
		}
		String[] parts = traceparent.split("-");
		if (parts.length == 4 && parts[1].length() == 32 && parts[2].length() == 16) {
			MDC.put("traceId", parts[1]);
			MDC.put("spanId", parts[2]);
		}
	}

	/** Commands from the worker; end of input means the worker died, so stop too. */
	private static void watchStdin() {
		Thread thread = new Thread(() -> {
			try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
				String line;
				while ((line = in.readLine()) != null) {
					String command = line.trim();
					if (TrainingProcessProtocol.CANCEL.equals(command)
							|| TrainingProcessProtocol.STOP.equals(command)) {
						stopRequested = true;
					}
					else if (TrainingProcessProtocol.PROCEED.equals(command)
							|| TrainingProcessProtocol.HALT.equals(command)) {
						answers.add(command);
					}
				}
			}
			catch (Exception ex) {
				// fall through: treat a broken pipe like the worker going away
			}
			stopRequested = true;
		}, "worker-commands");
		thread.setDaemon(true);
		thread.start();
	}

	private static synchronized void send(Message message) {
		out.println(TrainingProcessProtocol.PREFIX + TrainingProcessProtocol.JSON.writeValueAsString(message));
	}

}
