package com.acme.finetune.sweep;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.EpochMetrics;
import com.acme.finetune.training.FineTuner;
import com.acme.finetune.training.Hyperparameters;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.training.TrainingDivergedException;
import com.acme.finetune.training.TrainingListener;
import com.acme.finetune.training.TrainingRequest;
import com.acme.finetune.training.bench.TrainingBenchmark;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Sweeps on a real labelled image folder ({@code bench/make_digits_imagefolder.py}), run
 * by hand, not part of the test suite (docs/benchmarks.md "Sweeps"). With the sweep's own
 * code ({@link SearchSpace} samples seeded like {@code SweepEngine}, {@link Asha}'s rungs
 * and decisions) and the real {@link FineTuner}, one trial at a time:
 * <ol>
 * <li>a random sweep of {@code --trials} trials with ASHA: each trial stops at a rung
 * unless it is among the best 1/η of the trials that reached that rung;</li>
 * <li>the same trials (same parameters, same seed) each run to {@code --max-epochs};</li>
 * <li>the default recipe (every job-spec default, the sweep's image size) for
 * {@code --max-epochs} and for as many epochs as the ASHA sweep spent in all.</li>
 * </ol>
 * {@code replay} (after {@code full}) takes ASHA's decisions over the full runs' curves
 * instead of training the ASHA sweep again: the runs are seeded, so a trial stopped at a
 * rung would have trained exactly those epochs. One JSON line per trial or job, then a
 * summary line.
 *
 * <pre>
 * --data DIR --res 32 --trials 12 --max-epochs 5 --min-epochs 1 --eta 3 --seed 7
 * --phases asha,full,default (or full,replay,default) --freeze none|layer4 [--default-sweep-budget true]
 * </pre>
 */
public final class SweepBenchmark {

	private static final String SPACE = """
			{"hyperparameters.learningRate": {"logUniform": [0.0001, 0.1]},
			 "hyperparameters.batchSize": {"choice": [16, 32]},
			 "hyperparameters.weightDecay": {"logUniform": [0.000001, 0.001]},
			 "hyperparameters.lrSchedule": {"choice": ["constant", "cosine"]}}""";

	/** The freeze bound of every run (trials and the default recipe alike). */
	private static Stage freeze = Stage.NONE;

	private SweepBenchmark() {
	}

	public static void main(String[] args) throws IOException {
		Map<String, String> options = TrainingBenchmark.options(args);
		Path dataDir = Path.of(options.get("data"));
		int res = Integer.parseInt(options.getOrDefault("res", "32"));
		int trials = Integer.parseInt(options.getOrDefault("trials", "12"));
		int maxEpochs = Integer.parseInt(options.getOrDefault("max-epochs", "5"));
		int minEpochs = Integer.parseInt(options.getOrDefault("min-epochs", "1"));
		int eta = Integer.parseInt(options.getOrDefault("eta", "3"));
		long seed = Long.parseLong(options.getOrDefault("seed", "7"));
		freeze = Stage.parse(options.getOrDefault("freeze", "none"));
		List<String> phases = List.of(options.getOrDefault("phases", "asha,full,default").split(","));
		TrainingData data = imageFolder(dataDir);
		Path work = Files.createTempDirectory("sweep-bench");
		SearchSpace space = SearchSpace.of(JsonMapper.builder().build().readTree(SPACE));
		List<Map<String, JsonNode>> params = new ArrayList<>();
		for (int i = 0; i < trials; i++) {
			params.add(space.randomPoint(SweepEngine.random(seed, i)));
		}
		System.out.printf(Locale.ROOT,
				"{\"train\":%d,\"validation\":%d,\"res\":%d,\"trials\":%d,\"maxEpochs\":%d,"
						+ "\"rungs\":\"%s\",\"eta\":%d}%n",
				data.train().size(), data.validation().size(), res, trials, maxEpochs,
				Asha.rungs(minEpochs, eta, maxEpochs), eta);
		Map<String, Object> summary = new LinkedHashMap<>();
		int ashaEpochs = 0;
		if (phases.contains("asha")) {
			List<Integer> rungs = Asha.rungs(minEpochs, eta, maxEpochs);
			Map<Integer, List<Double>> atRung = new HashMap<>();
			double best = Double.NaN;
			long start = System.nanoTime();
			for (int i = 0; i < trials; i++) {
				int index = i;
				Run run = train(data, hyperparameters(params.get(i), res, maxEpochs, seed), work.resolve("asha-" + i),
						(epoch, accuracy) -> {
							if (!rungs.contains(epoch)) {
								return true;
							}
							List<Double> peers = atRung.computeIfAbsent(epoch, (e) -> new ArrayList<>());
							peers.add(accuracy);
							return Asha.proceed(accuracy, peers, eta, true);
						});
				ashaEpochs += run.epochs();
				best = max(best, run.best());
				line("asha", index, params.get(i), run);
			}
			summary.put("ashaEpochs", ashaEpochs);
			summary.put("ashaBest", best);
			summary.put("ashaSeconds", Math.round((System.nanoTime() - start) / 1e9));
		}
		List<Run> fullRuns = new ArrayList<>();
		if (phases.contains("full")) {
			double best = Double.NaN;
			int epochs = 0;
			long start = System.nanoTime();
			for (int i = 0; i < trials; i++) {
				Run run = train(data, hyperparameters(params.get(i), res, maxEpochs, seed), work.resolve("full-" + i),
						(epoch, accuracy) -> true);
				epochs += run.epochs();
				best = max(best, run.best());
				fullRuns.add(run);
				line("full", i, params.get(i), run);
			}
			summary.put("fullEpochs", epochs);
			summary.put("fullBest", best);
			summary.put("fullSeconds", Math.round((System.nanoTime() - start) / 1e9));
		}
		if (phases.contains("replay") && fullRuns.size() == trials) {
			// ASHA's decisions over the full runs' curves, trial by trial: training is
			// seeded, so a trial stopped at a rung has trained exactly these epochs
			List<Integer> rungs = Asha.rungs(minEpochs, eta, maxEpochs);
			Map<Integer, List<Double>> atRung = new HashMap<>();
			int epochs = 0;
			double best = Double.NaN;
			for (int i = 0; i < trials; i++) {
				Run full = fullRuns.get(i);
				int trained = 0;
				double trialBest = Double.NaN;
				for (EpochMetrics m : full.curve()) {
					trained = m.epoch();
					trialBest = max(trialBest, m.valAccuracy());
					if (rungs.contains(m.epoch())) {
						List<Double> peers = atRung.computeIfAbsent(m.epoch(), (e) -> new ArrayList<>());
						peers.add(m.valAccuracy());
						if (!Asha.proceed(m.valAccuracy(), peers, eta, true)) {
							break;
						}
					}
				}
				epochs += (full.error() != null && trained == full.curve().size()) ? full.epochs() : trained;
				best = max(best, trialBest);
				System.out.printf(Locale.ROOT,
						"{\"phase\":\"replay\",\"trial\":%d,\"epochs\":%d,\"bestValAccuracy\":%.4f}%n", i, trained,
						trialBest);
			}
			ashaEpochs = (ashaEpochs > 0) ? ashaEpochs : epochs;
			summary.put("replayEpochs", epochs);
			summary.put("replayBest", best);
		}
		if (phases.contains("default")) {
			List<Integer> budgets = new ArrayList<>(List.of(maxEpochs));
			if (ashaEpochs > maxEpochs && options.containsKey("default-sweep-budget")) {
				// the default recipe given every epoch the ASHA sweep spent
				budgets.add(ashaEpochs);
			}
			for (int epochs : budgets) {
				Hyperparameters d = Hyperparameters.defaults();
				Hyperparameters hp = new Hyperparameters(epochs, d.batchSize(), d.learningRate(), d.optimizer(),
						d.momentum(), d.weightDecay(), d.lrSchedule(), res, d.augmentation(), d.labelSmoothing(),
						d.classWeights(), d.seed(), d.earlyStopping());
				Run run = train(data, hp, work.resolve("default-" + epochs), (epoch, accuracy) -> true);
				line("default", -1, Map.of(), run);
				summary.put("defaultBest@" + epochs, run.best());
			}
		}
		StringBuilder json = new StringBuilder("{\"summary\":true");
		summary.forEach((k, v) -> json.append(",\"").append(k).append("\":").append(v));
		System.out.println(json.append('}'));
	}

	private interface Gate {

		boolean proceed(int epoch, double valAccuracy);

	}

	record Run(List<EpochMetrics> curve, int epochs, double best, int bestEpoch, double seconds, String error) {
	}

	private static Run train(TrainingData data, Hyperparameters hp, Path out, Gate gate) {
		List<EpochMetrics> curve = new ArrayList<>();
		TrainingRequest request = new TrainingRequest(new BaseModel(BaseModel.Kind.SCRATCH, "resnet50-scratch", null),
				freeze, TrainingRequest.BatchNormMode.AUTO, hp, "cpu", out, out.resolveSibling("cache"));
		long start = System.nanoTime();
		String error = null;
		try {
			new FineTuner().train(request, data, new TrainingListener() {
				@Override
				public void onEpoch(EpochMetrics metrics) {
					curve.add(metrics);
					System.err.printf(Locale.ROOT, "epoch %d: valAccuracy %.4f, %d ms%n", metrics.epoch(),
							metrics.valAccuracy(), metrics.durationMs());
				}

				@Override
				public boolean stopAfterEpoch(int epoch) {
					return !gate.proceed(epoch, curve.get(epoch - 1).valAccuracy());
				}
			});
		}
		catch (TrainingDivergedException ex) {
			// a diverged trial is a failed job: it counts its epochs and has no objective
			error = "diverged";
		}
		double best = Double.NaN;
		int bestEpoch = 0;
		for (EpochMetrics m : curve) {
			if (Double.isNaN(best) || m.valAccuracy() > best) {
				best = m.valAccuracy();
				bestEpoch = m.epoch();
			}
		}
		return new Run(curve, curve.size() + ((error != null) ? 1 : 0), best, bestEpoch,
				(System.nanoTime() - start) / 1e9, error);
	}

	private static Hyperparameters hyperparameters(Map<String, JsonNode> p, int res, int epochs, long seed) {
		Hyperparameters d = Hyperparameters.defaults();
		return new Hyperparameters(epochs, p.get("hyperparameters.batchSize").asInt(),
				p.get("hyperparameters.learningRate").asDouble(), d.optimizer(), d.momentum(),
				p.get("hyperparameters.weightDecay").asDouble(),
				Hyperparameters.LrSchedule.valueOf(p.get("hyperparameters.lrSchedule").asString().toUpperCase()), res,
				d.augmentation(), d.labelSmoothing(), d.classWeights(), d.seed(), d.earlyStopping());
	}

	private static double max(double a, double b) {
		return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.max(a, b);
	}

	private static TrainingData imageFolder(Path root) throws IOException {
		List<String> labels;
		try (var classes = Files.list(root.resolve("train"))) {
			labels = classes.map((p) -> p.getFileName().toString()).sorted().toList();
		}
		return new TrainingData("bench:" + root.toAbsolutePath(), labels, split(root.resolve("train"), labels),
				split(root.resolve("val"), labels));
	}

	private static List<TrainingData.Sample> split(Path dir, List<String> labels) throws IOException {
		List<TrainingData.Sample> samples = new ArrayList<>();
		for (int c = 0; c < labels.size(); c++) {
			try (var files = Files.list(dir.resolve(labels.get(c)))) {
				for (Path f : files.sorted().toList()) {
					samples.add(new TrainingData.Sample(f, c));
				}
			}
		}
		return samples;
	}

	private static void line(String phase, int trial, Map<String, JsonNode> params, Run run) {
		StringBuilder curve = new StringBuilder();
		for (EpochMetrics m : run.curve()) {
			curve.append((curve.length() > 0) ? "," : "").append(String.format(Locale.ROOT, "%.4f", m.valAccuracy()));
		}
		System.out.printf(Locale.ROOT,
				"{\"phase\":\"%s\",\"trial\":%d,\"params\":%s,\"epochs\":%d,\"bestValAccuracy\":%.4f,\"bestEpoch\":%d,"
						+ "\"valAccuracyByEpoch\":[%s],\"seconds\":%.1f,\"error\":%s}%n",
				phase, trial, params, run.epochs(), run.best(), run.bestEpoch(), curve, run.seconds(),
				(run.error() != null) ? "\"" + run.error() + "\"" : "null");
		System.out.flush();
	}

}
