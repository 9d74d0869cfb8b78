package com.acme.finetune.job;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.acme.finetune.job.TrainingProcessProtocol.Message;
import com.acme.finetune.job.TrainingProcessProtocol.Request;
import com.acme.finetune.process.ChildJvm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A running training process, seen from the worker: started by {@link ChildJvm} with the
 * worker's own class path, fed a request file, read line by line, and told to stop
 * through its stdin.
 */
final class TrainingProcess implements AutoCloseable {

	private static final Logger log = LoggerFactory.getLogger(TrainingProcess.class);

	/** Marks the end of the process's output in {@link #messages}. */
	private static final Message EXITED = new Message("exited", null, null, null, null, null, null, null, null, null,
			null);

	private final Process process;

	private final OutputStream commands;

	private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();

	private TrainingProcess(Process process) {
		this.process = process;
		this.commands = process.getOutputStream();
	}

	static TrainingProcess start(Request request, Path workDir, List<String> jvmOptions) throws IOException {
		Files.createDirectories(workDir);
		Path requestFile = workDir.resolve("request.json");
		Files.writeString(requestFile, TrainingProcessProtocol.JSON.writeValueAsString(request));
		ProcessBuilder builder = ChildJvm.builder(TrainingProcessMain.class, List.of(requestFile.toString()),
				jvmOptions, workDir, 0);
		TrainingProcess training = new TrainingProcess(builder.start());
		training.pump(MDC.getCopyOfContextMap());
		return training;
	}

	private void pump(Map<String, String> mdc) {
		Thread reader = new Thread(() -> {
			if (mdc != null) {
				MDC.setContextMap(mdc);
			}
			try (BufferedReader in = new BufferedReader(
					new InputStreamReader(this.process.getInputStream(), StandardCharsets.UTF_8))) {
				String line;
				while ((line = in.readLine()) != null) {
					if (line.startsWith(TrainingProcessProtocol.PREFIX)) {
						this.messages.add(TrainingProcessProtocol.JSON
							.readValue(line.substring(TrainingProcessProtocol.PREFIX.length()), Message.class));
					}
					else if (!line.isBlank()) {
						log.info("[training pid {}] {}", this.process.pid(), line);
					}
				}
			}
			catch (Exception ex) {
				log.warn("Lost the training process's output: {}", ex.toString());
			}
			finally {
				this.messages.add(EXITED);
			}
		}, "training-output-" + this.process.pid());
		reader.setDaemon(true);
		reader.start();
	}

	/**
	 * The next message, or null after the timeout; {@link #isEnd} tells the end apart.
	 */
	Message poll(long timeoutMillis) throws InterruptedException {
		return this.messages.poll(timeoutMillis, TimeUnit.MILLISECONDS);
	}

	static boolean isEnd(Message message) {
		return message == EXITED;
	}

	void send(String command) {
		try {
			this.commands.write((command + "\n").getBytes(StandardCharsets.UTF_8));
			this.commands.flush();
		}
		catch (IOException ex) {
			// the process is already gone; its exit is handled by the caller
		}
	}

	long pid() {
		return this.process.pid();
	}

	boolean isAlive() {
		return this.process.isAlive();
	}

	int waitForExit(long timeoutMillis) throws InterruptedException {
		if (this.process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
			return this.process.exitValue();
		}
		return Integer.MIN_VALUE;
	}

	void kill() {
		ChildJvm.kill(this.process);
	}

	@Override
	public void close() {
		if (this.process.isAlive()) {
			kill();
		}
		try {
			this.commands.close();
		}
		catch (IOException ex) {
			// nothing to do
		}
	}

}
