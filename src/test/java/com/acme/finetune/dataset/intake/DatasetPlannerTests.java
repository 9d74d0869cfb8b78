package com.acme.finetune.dataset.intake;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.acme.finetune.dataset.DatasetSummary;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** Layout, split and warnings without HTTP or a database. */
class DatasetPlannerTests {

	private final DatasetPlanner planner = new DatasetPlanner(
			new DatasetProperties(100, 1000, 100, 1000, 1000, 2, 32, 10, 0.2, 0));

	@Test
	void everyClassWithTwoImagesGetsAValidationImage() {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>();
		files.addAll(images("a", 2));
		files.addAll(images("b", 3));
		files.addAll(images("c", 40));
		DatasetPlanner.Plan plan = this.planner.plan(files, 0.2);
		Map<Integer, Integer> validation = new TreeMap<>();
		plan.files()
			.stream()
			.filter(DatasetPlanner.PlannedFile::validation)
			.forEach((f) -> validation.merge(f.label(), 1, Integer::sum));
		assertThat(validation).containsEntry(0, 1).containsEntry(1, 1).containsEntry(2, 8);
		assertThat(plan.validationSplit()).isEqualTo(0.2);
	}

	@Test
	void splitIgnoresArchiveOrderAndZeroMeansNoValidation() {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>(images("a", 10));
		files.addAll(images("b", 10));
		List<ArchiveIntake.ExtractedFile> reversed = new ArrayList<>(files);
		java.util.Collections.reverse(reversed);
		assertThat(validationPaths(this.planner.plan(files, 0.3)))
			.isEqualTo(validationPaths(this.planner.plan(reversed, 0.3)))
			.hasSize(6);
		assertThat(validationPaths(this.planner.plan(files, 0.0))).isEmpty();
	}

	@Test
	void labelsAreDistinctPlainTextForHumansToo() {
		assertThatExceptionOfType(ApiException.class)
			.isThrownBy(() -> DatasetPlanner.checkNames(List.of("dog", "line\nbreak", "nul\0")))
			.satisfies((ex) -> {
				assertThat(ex.type()).isEqualTo(ProblemType.INVALID_DATASET_LAYOUT);
				assertThat(ex.properties().get("errors").toString()).contains("U+000A", "U+0000")
					.doesNotContain("dog/");
			});
		// ß folds to ss, final sigma to sigma, composed é to decomposed é, K to the
		// Kelvin sign
		for (List<String> same : List.of(List.of("Straße", "STRASSE"), List.of("ΟΔΟΣ", "οδος"),
				List.of("caf\u00e9", "CAFE\u0301"), List.of("Kelvin", "\u212Aelvin"))) {
			List<String> labels = new ArrayList<>(same);
			labels.add("other");
			assertThatExceptionOfType(ApiException.class).as(same.toString())
				.isThrownBy(() -> DatasetPlanner.checkNames(labels))
				.satisfies(
						(ex) -> assertThat(ex.getMessage()).contains("'" + same.get(0) + "', '" + same.get(1) + "'"));
		}
		// what stays allowed: accents, other scripts, emoji with joiners, spaces
		DatasetPlanner.checkNames(List.of("café", "cafe", "猫", "👩\u200D🔬 scientist", "Golden Retriever"));
	}

	@Test
	void identicalFilesStayOnOneSide() {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>(images("b", 4));
		for (int i = 0; i < 4; i++) {
			files.add(file("a/same" + i + ".png", "11".repeat(32), 40));
		}
		files.add(file("a/other.png", "ff".repeat(32), 40));
		DatasetPlanner.Plan plan = this.planner.plan(files, 0.2);
		assertThat(plan.files()
			.stream()
			.filter((f) -> f.path().startsWith("a/same"))
			.map(DatasetPlanner.PlannedFile::validation)
			.distinct()).hasSize(1);
		assertThat(plan.warnings()).extracting(DatasetSummary.Warning::code).containsExactly("duplicate-within-class");
	}

	@Test
	void trainOnlyLayoutIsSplitAutomatically() {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>(images("train/a", 5));
		files.addAll(images("train/b", 5));
		DatasetPlanner.Plan plan = this.planner.plan(files, 0.2);
		assertThat(plan.labels()).containsExactly("a", "b");
		assertThat(validationPaths(plan)).hasSize(2).allMatch((p) -> p.startsWith("train/"));
	}

	@Test
	void classWithoutTrainingImagesIsRefused() {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>(images("train/a", 3));
		files.addAll(images("val/a", 1));
		files.addAll(images("val/b", 2));
		assertThatExceptionOfType(ApiException.class).isThrownBy(() -> this.planner.plan(files, 0.2))
			.satisfies((ex) -> assertThat(ex.type()).isEqualTo(ProblemType.INVALID_DATASET_LAYOUT));
	}

	private static List<String> validationPaths(DatasetPlanner.Plan plan) {
		return plan.files()
			.stream()
			.filter(DatasetPlanner.PlannedFile::validation)
			.map(DatasetPlanner.PlannedFile::path)
			.toList();
	}

	private static List<ArchiveIntake.ExtractedFile> images(String folder, int count) {
		List<ArchiveIntake.ExtractedFile> files = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			String sha = String.format("%064x", (long) (folder + i).hashCode() & 0xffffffffL);
			files.add(file(folder + "/img" + i + ".png", sha, 40));
		}
		return files;
	}

	private static ArchiveIntake.ExtractedFile file(String path, String sha, int side) {
		return new ArchiveIntake.ExtractedFile(path, Path.of("/nonexistent", sha), sha, 100, side, side);
	}

}
