package com.acme.finetune.dataset.intake;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import com.acme.finetune.dataset.DatasetSummary;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

/**
 * Turns the checked files of an archive into a dataset: layout (flat, train/val, one
 * wrapper folder), labels, a deterministic split and the warnings. Pure: no I/O.
 */
public final class DatasetPlanner {

	static final String TRAIN = "train";

	static final String VAL = "val";

	/**
	 * Warnings of one kind beyond this many are summarized, so a reply stays readable.
	 */
	static final int MAX_WARNINGS_PER_CODE = 100;

	static final int MAX_FILES_PER_WARNING = 100;

	/** {@code dataset_class.label}'s length. */
	static final int MAX_LABEL_LENGTH = 255;

	private final DatasetProperties properties;

	public DatasetPlanner(DatasetProperties properties) {
		this.properties = properties;
	}

	Plan plan(List<ArchiveIntake.ExtractedFile> files, double validationSplit) {
		return plan(new ArchiveIntake.Extraction(files, List.of()), validationSplit);
	}

	public Plan plan(ArchiveIntake.Extraction extraction, double validationSplit) {
		List<ArchiveIntake.ExtractedFile> files = extraction.images();
		if (files.isEmpty()) {
			throw new ApiException(ProblemType.INVALID_DATASET_LAYOUT, "The archive contains no images");
		}
		int strip = hasWrapper(files) ? 1 : 0;
		boolean splitLayout = isSplitLayout(files, strip);
		List<Map<String, String>> errors = new ArrayList<>();
		List<Located> located = new ArrayList<>();
		for (ArchiveIntake.ExtractedFile file : files) {
			String[] segments = file.path().split("/");
			int classAt = strip + (splitLayout ? 1 : 0);
			if (segments.length < classAt + 2) {
				errors.add(error(file.path(), splitLayout ? "not inside train/<class>/ or val/<class>/"
						: "not inside a class folder (<class>/<image>)"));
				continue;
			}
			if (splitLayout && !TRAIN.equals(segments[strip]) && !VAL.equals(segments[strip])) {
				errors.add(error(file.path(), "outside train/ and val/"));
				continue;
			}
			String label = segments[classAt];
			String path = String.join("/", List.of(segments).subList(strip, segments.length));
			boolean validation = splitLayout && VAL.equals(segments[strip]);
			located.add(new Located(file, path, label, validation));
		}
		if (!errors.isEmpty()) {
			throw IntakeProblems.refusal(ProblemType.INVALID_DATASET_LAYOUT, errors,
					" files do not fit the layout <class>/<image> or train|val/<class>/<image>");
		}
		// train/ alone is split like a flat layout: validationSplit applies when there is
		// no val/
		boolean explicitSplit = located.stream().anyMatch(Located::validation);
		List<String> labels = new ArrayList<>(new TreeSet<>(located.stream().map(Located::label).toList()));
		checkNames(labels);
		checkClasses(located, labels, explicitSplit);
		List<PlannedFile> planned = explicitSplit ? explicit(located, labels) : split(located, labels, validationSplit);
		planned.sort(Comparator.comparing(PlannedFile::path));
		List<DatasetSummary.Warning> warnings = warnings(planned, labels);
		if (!extraction.ignored().isEmpty()) {
			List<String> ignored = extraction.ignored();
			String message = (ignored.size() == 1) ? "1 file beside the class folders is not an image and was left out"
					: ignored.size() + " files beside the class folders are not images and were left out";
			warnings.add(new DatasetSummary.Warning("ignored-files", message
					+ ((ignored.size() > MAX_FILES_PER_WARNING) ? " (first " + MAX_FILES_PER_WARNING + " listed)" : ""),
					ignored.subList(0, Math.min(ignored.size(), MAX_FILES_PER_WARNING)), null));
		}
		return new Plan(labels, planned, warnings, explicitSplit ? null : validationSplit);
	}

	/**
	 * Labels are data: they must fit their column, hold no control characters (a line
	 * feed would shift every label of a line-based file after it), and name distinct
	 * classes for a human too, so names that differ only by letter case or Unicode
	 * normalisation are refused rather than silently trained as different classes.
	 */
	static void checkNames(List<String> labels) {
		List<Map<String, String>> errors = new ArrayList<>();
		for (String label : labels) {
			int control = SafeText.firstControlCharacter(label);
			if (label.length() > MAX_LABEL_LENGTH) {
				errors.add(error(label + "/", "class folder name longer than " + MAX_LABEL_LENGTH + " characters"));
			}
			else if (control >= 0) {
				errors.add(error(label + "/", "class folder name contains the control character "
						+ SafeText.codePoint(control) + "; labels must be plain text"));
			}
		}
		if (!errors.isEmpty()) {
			throw IntakeProblems.refusal(ProblemType.INVALID_DATASET_LAYOUT, errors,
					" class folder names are not usable as labels");
		}
		Map<String, List<String>> byKey = new LinkedHashMap<>();
		labels.forEach((label) -> byKey.computeIfAbsent(SafeText.foldKey(label), (k) -> new ArrayList<>()).add(label));
		List<String> clashes = new ArrayList<>();
		for (List<String> same : byKey.values()) {
			if (same.size() > 1) {
				String names = String.join(", ", same.stream().map((l) -> "'" + l + "'").toList());
				clashes.add(names);
				errors.add(error(same.get(0) + "/", "class folders " + names
						+ " differ only by letter case or Unicode normalisation; rename or merge them"));
			}
		}
		if (!errors.isEmpty()) {
			ApiException refusal = IntakeProblems.refusal(ProblemType.INVALID_DATASET_LAYOUT, errors,
					" groups of class folders differ only by letter case or Unicode normalisation: "
							+ String.join("; ", clashes.subList(0, Math.min(clashes.size(), 10)))
							+ ((clashes.size() > 10) ? "; …" : ""));
			throw refusal;
		}
	}

	private void checkClasses(List<Located> located, List<String> labels, boolean explicitSplit) {
		Map<String, Integer> counts = new TreeMap<>();
		Map<String, Integer> trainCounts = new TreeMap<>();
		for (Located file : located) {
			counts.merge(file.label(), 1, Integer::sum);
			trainCounts.merge(file.label(), file.validation() ? 0 : 1, Integer::sum);
		}
		if (labels.size() < 2) {
			throw new ApiException(ProblemType.INVALID_DATASET_LAYOUT,
					"A dataset needs at least 2 classes (one folder per class); found " + labels.size()
							+ (labels.isEmpty() ? "" : ": " + labels.get(0)));
		}
		List<Map<String, String>> errors = new ArrayList<>();
		int min = this.properties.minImagesPerClass();
		counts.forEach((label, count) -> {
			if (count < min) {
				errors.add(error(label + "/", "class has " + count + " image" + ((count == 1) ? "" : "s")
						+ ", fewer than the minimum of " + min));
			}
			else if (explicitSplit && trainCounts.get(label) == 0) {
				errors.add(error("train/" + label + "/", "class has no training images"));
			}
		});
		if (!errors.isEmpty()) {
			throw IntakeProblems.refusal(ProblemType.INVALID_DATASET_LAYOUT, errors, " classes are too small");
		}
	}

	private static List<PlannedFile> explicit(List<Located> located, List<String> labels) {
		Map<String, Integer> index = index(labels);
		List<PlannedFile> planned = new ArrayList<>();
		for (Located file : located) {
			planned.add(new PlannedFile(file.file(), file.path(), index.get(file.label()), file.validation()));
		}
		return planned;
	}

	/**
	 * Stratified split, the same for the same files every time: within a class files are
	 * ordered by content digest (uniformly distributed, independent of names), then path,
	 * and the first share goes to validation. Every class with at least 2 images gets at
	 * least one validation image (unless the split is 0), and identical files are kept on
	 * the same side where possible, so duplicates do not leak from train into validation.
	 */
	private static List<PlannedFile> split(List<Located> located, List<String> labels, double share) {
		Map<String, Integer> index = index(labels);
		Map<String, List<Located>> byClass = new TreeMap<>();
		located.forEach((file) -> byClass.computeIfAbsent(file.label(), (l) -> new ArrayList<>()).add(file));
		List<PlannedFile> planned = new ArrayList<>();
		byClass.forEach((label, members) -> {
			members.sort(Comparator.comparing((Located l) -> l.file().sha256()).thenComparing(Located::path));
			int n = members.size();
			int validation = 0;
			if (share > 0 && n >= 2) {
				validation = (int) Math.max(1, Math.min(n - 1, Math.round(n * share)));
				validation = keepDuplicatesTogether(members, validation);
			}
			for (int i = 0; i < n; i++) {
				Located file = members.get(i);
				planned.add(new PlannedFile(file.file(), file.path(), index.get(label), i < validation));
			}
		});
		return planned;
	}

	private static int keepDuplicatesTogether(List<Located> sorted, int boundary) {
		int up = boundary;
		while (up < sorted.size() && sameContent(sorted, up)) {
			up++;
		}
		if (up < sorted.size()) {
			return up;
		}
		int down = boundary;
		while (down > 0 && sameContent(sorted, down)) {
			down--;
		}
		return (down > 0) ? down : boundary;
	}

	private static boolean sameContent(List<Located> sorted, int index) {
		return sorted.get(index).file().sha256().equals(sorted.get(index - 1).file().sha256());
	}

	private List<DatasetSummary.Warning> warnings(List<PlannedFile> files, List<String> labels) {
		List<DatasetSummary.Warning> warnings = new ArrayList<>();
		duplicates(files, labels, warnings);
		imbalance(files, labels, warnings);
		tiny(files, warnings);
		return warnings;
	}

	private static void duplicates(List<PlannedFile> files, List<String> labels,
			List<DatasetSummary.Warning> warnings) {
		Map<String, List<PlannedFile>> bySha = new LinkedHashMap<>();
		files.forEach((f) -> bySha.computeIfAbsent(f.file().sha256(), (s) -> new ArrayList<>()).add(f));
		Map<String, List<DatasetSummary.Warning>> byCode = new LinkedHashMap<>();
		Map<String, Integer> totals = new LinkedHashMap<>();
		for (List<PlannedFile> group : bySha.values()) {
			if (group.size() < 2) {
				continue;
			}
			List<String> paths = group.stream().map(PlannedFile::path).sorted().toList();
			Set<Integer> classes = new TreeSet<>(group.stream().map(PlannedFile::label).toList());
			boolean withinClass = classes.size() < group.size();
			boolean acrossSplits = group.stream().anyMatch(PlannedFile::validation)
					&& group.stream().anyMatch((f) -> !f.validation());
			if (withinClass) {
				addCapped(byCode, totals, new DatasetSummary.Warning("duplicate-within-class",
						paths.size() + " identical files within a class", paths, null));
			}
			if (classes.size() > 1) {
				String names = String.join(", ", classes.stream().map(labels::get).toList());
				addCapped(byCode, totals, new DatasetSummary.Warning("duplicate-across-classes",
						"identical files labelled as different classes (" + names + ")", paths, null));
			}
			if (acrossSplits) {
				addCapped(byCode, totals,
						new DatasetSummary.Warning("duplicate-across-splits",
								"identical files in train and validation; validation accuracy will be optimistic",
								paths, null));
			}
		}
		byCode.forEach((code, list) -> {
			warnings.addAll(list);
			int more = totals.get(code) - list.size();
			if (more > 0) {
				warnings
					.add(new DatasetSummary.Warning(code, more + " more groups of duplicates not listed", null, null));
			}
		});
	}

	private static void addCapped(Map<String, List<DatasetSummary.Warning>> byCode, Map<String, Integer> totals,
			DatasetSummary.Warning warning) {
		totals.merge(warning.code(), 1, Integer::sum);
		List<DatasetSummary.Warning> list = byCode.computeIfAbsent(warning.code(), (c) -> new ArrayList<>());
		if (list.size() < MAX_WARNINGS_PER_CODE) {
			list.add(warning);
		}
	}

	private void imbalance(List<PlannedFile> files, List<String> labels, List<DatasetSummary.Warning> warnings) {
		int[] counts = new int[labels.size()];
		files.forEach((f) -> counts[f.label()]++);
		int max = 0;
		int min = 0;
		for (int i = 1; i < counts.length; i++) {
			max = (counts[i] > counts[max]) ? i : max;
			min = (counts[i] < counts[min]) ? i : min;
		}
		double ratio = (double) counts[max] / counts[min];
		if (ratio <= this.properties.imbalanceRatio()) {
			return;
		}
		Map<String, Double> weights = new LinkedHashMap<>();
		for (int i = 0; i < counts.length; i++) {
			double weight = (double) files.size() / (counts.length * (double) counts[i]);
			weights.put(labels.get(i), Math.round(weight * 10000) / 10000.0);
		}
		warnings.add(new DatasetSummary.Warning("class-imbalance",
				String.format(Locale.ROOT,
						"largest class '%s' has %d images, smallest '%s' has %d (ratio %.1f, over %.1f); "
								+ "consider classWeights=balanced with the suggested weights",
						labels.get(max), counts[max], labels.get(min), counts[min], ratio,
						this.properties.imbalanceRatio()),
				null, weights));
	}

	private void tiny(List<PlannedFile> files, List<DatasetSummary.Warning> warnings) {
		int side = this.properties.tinyImageSide();
		List<String> tiny = files.stream()
			.filter((f) -> Math.min(f.file().width(), f.file().height()) < side)
			.map(PlannedFile::path)
			.toList();
		if (!tiny.isEmpty()) {
			warnings
				.add(new DatasetSummary.Warning("tiny-images",
						tiny.size() + " images have a side shorter than " + side + " px"
								+ ((tiny.size() > MAX_FILES_PER_WARNING)
										? " (first " + MAX_FILES_PER_WARNING + " listed)" : ""),
						tiny.subList(0, Math.min(tiny.size(), MAX_FILES_PER_WARNING)), null));
		}
	}

	/**
	 * A wrapper folder: every file sits below one common folder that is not train/ or
	 * val/.
	 */
	private static boolean hasWrapper(List<ArchiveIntake.ExtractedFile> files) {
		return wrapper(files.stream().map(ArchiveIntake.ExtractedFile::path).toList()) != null;
	}

	/** The wrapper folder of these image paths, or null when they have none. */
	static String wrapper(List<String> paths) {
		String first = null;
		for (String path : paths) {
			String[] segments = path.split("/");
			if (segments.length < 3) {
				return null;
			}
			if (first == null) {
				first = segments[0];
			}
			else if (!first.equals(segments[0])) {
				return null;
			}
		}
		return (first == null || TRAIN.equals(first) || VAL.equals(first)) ? null : first;
	}

	private static boolean isSplitLayout(List<ArchiveIntake.ExtractedFile> files, int strip) {
		boolean train = false;
		for (ArchiveIntake.ExtractedFile file : files) {
			String[] segments = file.path().split("/");
			String top = (segments.length > strip) ? segments[strip] : "";
			if (segments.length < strip + 2 || (!TRAIN.equals(top) && !VAL.equals(top))) {
				return false;
			}
			train |= TRAIN.equals(top);
		}
		return train;
	}

	private static Map<String, Integer> index(List<String> labels) {
		Map<String, Integer> index = new LinkedHashMap<>();
		labels.forEach((label) -> index.put(label, index.size()));
		return index;
	}

	private static Map<String, String> error(String file, String reason) {
		Map<String, String> error = new LinkedHashMap<>();
		error.put("file", file);
		error.put("reason", reason);
		return error;
	}

	private record Located(ArchiveIntake.ExtractedFile file, String path, String label, boolean validation) {
	}

	/** One image of the dataset with its path (wrapper removed), label index and side. */
	public record PlannedFile(ArchiveIntake.ExtractedFile file, String path, int label, boolean validation) {
	}

	/**
	 * @param validationSplit the share used, or null when the archive had train/ and val/
	 */
	public record Plan(List<String> labels, List<PlannedFile> files, List<DatasetSummary.Warning> warnings,
			Double validationSplit) {
	}

}
