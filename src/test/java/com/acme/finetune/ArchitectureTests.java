package com.acme.finetune;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * Keeps the capabilities' dependencies one-way and the training core (with the image
 * helpers it shares) free of Spring and of the service's other modules.
 * {@link ModularityTests} checks the module boundaries.
 */
class ArchitectureTests {

	private final JavaClasses classes = new ClassFileImporter()
		.withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
		.importPackages("com.acme.finetune");

	@Test
	void capabilitiesHaveNoCycles() {
		slices().matching("com.acme.finetune.(*)..").should().beFreeOfCycles().check(this.classes);
	}

	@Test
	void trainingCoreIsPlainJava() {
		noClasses().that()
			.resideInAnyPackage("com.acme.finetune.training..", "com.acme.finetune.image..")
			// package-info carries only module metadata for Spring Modulith
			.and()
			.doNotHaveSimpleName("package-info")
			.should()
			.dependOnClassesThat()
			.resideInAnyPackage("org.springframework..", "jakarta.persistence..", "jakarta.servlet..",
					"com.acme.finetune.web..", "com.acme.finetune.storage..", "com.acme.finetune.job..",
					"com.acme.finetune.dataset..", "com.acme.finetune.model..", "com.acme.finetune.inference..",
					"com.acme.finetune.djl..")
			.check(this.classes);
	}

}
