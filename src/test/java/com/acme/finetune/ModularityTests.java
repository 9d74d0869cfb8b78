package com.acme.finetune;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import org.springframework.modulith.core.ApplicationModules;
import org.springframework.modulith.docs.Documenter;

/**
 * Checks the application modules (each direct sub-package of {@code com.acme.finetune}):
 * no cycles between them, and no module reaching into another's internal packages. Writes
 * the module diagram and canvases into {@code docs/architecture/} on every run, so the
 * committed copy shows when the structure changes.
 */
class ModularityTests {

	static final ApplicationModules MODULES = ApplicationModules.of(FinetuneApplication.class);

	@Test
	void modulesAreVerified() {
		MODULES.verify();
	}

	@Test
	void writesModuleDocumentation() throws IOException {
		new Documenter(MODULES, Documenter.Options.defaults().withOutputFolder("docs/architecture"))
			.writeModulesAsPlantUml()
			.writeIndividualModulesAsPlantUml()
			.writeModuleCanvases();
		sortRelations(Path.of("docs/architecture"));
	}

	/**
	 * The Documenter lists a diagram's relations in no fixed order; sorted, the files
	 * only change when the structure does.
	 */
	private static void sortRelations(Path folder) throws IOException {
		try (Stream<Path> files = Files.list(folder)) {
			for (Path file : files.filter((f) -> f.toString().endsWith(".puml")).toList()) {
				List<String> lines = Files.readAllLines(file);
				List<String> sorted = new ArrayList<>(lines.size());
				int i = 0;
				while (i < lines.size()) {
					int j = i;
					while (j < lines.size() && lines.get(j).startsWith("Rel(")) {
						j++;
					}
					if (j > i) {
						lines.subList(i, j).stream().sorted().forEach(sorted::add);
						i = j;
					}
					else {
						sorted.add(lines.get(i++));
					}
				}
				Files.write(file, sorted);
			}
		}
	}

}
