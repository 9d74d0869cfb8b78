package com.acme.finetune.training.nn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@link ResNet50Block} lays out CPU activations: channels-last (NHWC memory) or NCHW
 * for training, oneDNN's blocked layout for serving.
 *
 * <p>
 * Channels-last lets oneDNN run its NHWC kernels directly instead of reordering every
 * convolution's input and output between NCHW and its blocked layout: on a 2-core AMD
 * EPYC (Zen 4) a training step with every stage trained was 16 % faster, layer4 + head 12
 * % (docs/benchmarks.md). But those kernels (brgemm) size their blocks from the cache
 * hierarchy the CPU reports through CPUID, and on a VM whose CPUID reported none (leaves
 * 4, 0xB and 0x8000001D all zero) they died with SIGFPE or computed wrong values. Linux
 * reads the same CPUID leaves into {@code /sys/devices/system/cpu/cpu0/cache}, so
 * {@code auto} uses channels-last only where that lists an L1 data cache and an L2 cache
 * with their sizes; elsewhere activations stay NCHW, which runs oneDNN's jit kernels that
 * were sound there. The environment variable {@code CPU_CHANNELS_LAST} ({@code auto},
 * {@code true}, {@code false}) overrides the choice; GPUs always run NCHW.
 *
 * <p>
 * Served models (BatchNorm folded) run on oneDNN's blocked layout instead
 * ({@link OneDnnResNet50}) unless {@code CPU_BLOCKED_INFERENCE=false}; where the CPU
 * reports no cache sizes, their residual sums take a path that does not need them.
 */
public final class CpuLayout {

	private static final Logger log = LoggerFactory.getLogger(CpuLayout.class);

	static final String SETTING = "CPU_CHANNELS_LAST";

	static final String BLOCKED_SETTING = "CPU_BLOCKED_INFERENCE";

	private static final Path CACHE_DIR = Path.of("/sys/devices/system/cpu/cpu0/cache");

	/** The decision for this process, made once. */
	public static final boolean CHANNELS_LAST = decide(System.getenv(SETTING), CACHE_DIR);

	/** Whether this CPU reports its L1 and L2 caches (see {@link #cachesReported}). */
	public static final boolean CACHES_REPORTED = cachesReported(CACHE_DIR);

	/**
	 * Whether served ResNet-50s run on oneDNN's blocked layout ({@link OneDnnResNet50}):
	 * yes unless {@code CPU_BLOCKED_INFERENCE=false}.
	 */
	public static final boolean BLOCKED_INFERENCE = !"false"
		.equalsIgnoreCase(String.valueOf(System.getenv(BLOCKED_SETTING)).trim());

	private CpuLayout() {
	}

	public static boolean decide(String setting, Path cacheDir) {
		String value = (setting == null || setting.isBlank()) ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
		boolean channelsLast = switch (value) {
			case "true" -> true;
			case "false" -> false;
			default -> {
				if (!value.equals("auto")) {
					log.warn("{}={} is not auto, true or false; using auto", SETTING, setting);
				}
				yield cachesReported(cacheDir);
			}
		};
		log.info("CPU activations channels-last: {} ({}={})", channelsLast, SETTING, value);
		return channelsLast;
	}

	/** An L1 data (or unified) cache and an L2 cache, both with a size, are listed. */
	static boolean cachesReported(Path cacheDir) {
		boolean l1 = false;
		boolean l2 = false;
		try (Stream<Path> entries = Files.list(cacheDir)) {
			for (Path index : entries.filter((p) -> p.getFileName().toString().startsWith("index")).toList()) {
				String level = read(index.resolve("level"));
				String type = read(index.resolve("type"));
				if (!hasSize(read(index.resolve("size")))) {
					continue;
				}
				l1 |= level.equals("1") && (type.equals("Data") || type.equals("Unified"));
				l2 |= level.equals("2");
			}
		}
		catch (IOException ex) {
			return false;
		}
		return l1 && l2;
	}

	private static boolean hasSize(String size) {
		// sysfs writes e.g. "32K" or "1024K"
		return size.matches("[1-9][0-9]*[KMG]?");
	}

	private static String read(Path file) {
		try {
			return Files.readString(file).trim();
		}
		catch (IOException ex) {
			return "";
		}
	}

}
