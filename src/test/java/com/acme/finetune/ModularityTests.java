package com.acme.finetune;

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
	void writesModuleDocumentation() {
		new Documenter(MODULES, Documenter.Options.defaults().withOutputFolder("docs/architecture"))
			.writeModulesAsPlantUml()
			.writeIndividualModulesAsPlantUml()
			.writeModuleCanvases();
	}

}
