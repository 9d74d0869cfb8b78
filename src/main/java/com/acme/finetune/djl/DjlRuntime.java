package com.acme.finetune.djl;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.engine.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The process-wide DJL PyTorch engine, started lazily: the web tier starts without paying
 * for the ~400 MB of natives, and the first caller (or the background preload) loads it.
 */
@Component
public class DjlRuntime {

	private static final Logger log = LoggerFactory.getLogger(DjlRuntime.class);

	static final String ENGINE_NAME = "PyTorch";

	private final DjlProperties properties;

	private volatile Engine engine;

	private volatile Throwable failure;

	private volatile boolean loading;

	public DjlRuntime(DjlProperties properties) {
		this.properties = properties;
		applySystemProperties(properties);
	}

	/**
	 * Sets the system properties DJL reads at engine start. Values given explicitly on
	 * the command line win.
	 */
	public static void applySystemProperties(DjlProperties properties) {
		setIfAbsent("OPT_OUT_TRACKING", "true");
		setIfAbsent("ai.djl.offline", Boolean.toString(properties.offline()));
		setIfAbsent("ai.djl.default_engine", ENGINE_NAME);
		String cache = properties.cacheDir().toAbsolutePath().normalize().toString();
		setIfAbsent("DJL_CACHE_DIR", cache);
		setIfAbsent("ENGINE_CACHE_DIR", cache);
		if (properties.numThreads() > 0) {
			setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(properties.numThreads()));
		}
		if (properties.numInteropThreads() > 0) {
			setIfAbsent("ai.djl.pytorch.num_interop_threads", Integer.toString(properties.numInteropThreads()));
		}
	}

	private static void setIfAbsent(String key, String value) {
		if (System.getProperty(key) == null && System.getenv(key) == null) {
			System.setProperty(key, value);
		}
	}

	/** The engine, started on first use. */
	public Engine engine() {
		Engine current = this.engine;
		if (current != null) {
			return current;
		}
		synchronized (this) {
			if (this.engine == null) {
				this.loading = true;
				try {
					long start = System.nanoTime();
					this.engine = Engine.getEngine(ENGINE_NAME);
					this.failure = null;
					log.info("DJL {} {} started in {} ms on {}", ENGINE_NAME, this.engine.getVersion(),
							(System.nanoTime() - start) / 1_000_000, Arrays.toString(this.engine.getDevices()));
				}
				catch (RuntimeException | Error ex) {
					this.failure = ex;
					throw ex;
				}
				finally {
					this.loading = false;
				}
			}
			return this.engine;
		}
	}

	public boolean isLoaded() {
		return this.engine != null;
	}

	@EventListener(ApplicationReadyEvent.class)
	void preload() {
		if (!this.properties.preload() || isLoaded()) {
			return;
		}
		Thread thread = new Thread(() -> {
			try {
				engine();
			}
			catch (Throwable ex) {
				log.error("DJL engine failed to start", ex);
			}
		}, "djl-preload");
		thread.setDaemon(true);
		thread.start();
	}

	/** What health and info show about the engine. */
	public Map<String, Object> describe() {
		Map<String, Object> details = new LinkedHashMap<>();
		details.put("engine", ENGINE_NAME);
		details.put("offline", this.properties.offline());
		Engine current = this.engine;
		if (current == null) {
			details.put("state", (this.failure != null) ? "failed" : (this.loading ? "loading" : "not-loaded"));
			if (this.failure != null) {
				details.put("error", this.failure.getClass().getSimpleName() + ": " + this.failure.getMessage());
			}
			return details;
		}
		details.put("state", "loaded");
		details.put("version", current.getVersion());
		details.put("gpuCount", current.getGpuCount());
		details.put("devices", Arrays.stream(current.getDevices()).map(Object::toString).toList());
		details.put("defaultDevice", current.defaultDevice().toString());
		return details;
	}

	/** Whether the engine failed to start. */
	public boolean hasFailed() {
		return this.engine == null && this.failure != null;
	}

}
