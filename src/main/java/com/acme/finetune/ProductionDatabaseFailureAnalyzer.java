package com.acme.finetune;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import com.acme.finetune.ProductionDatabaseCheck.EmbeddedDatabaseInProductionException;

/**
 * Turns {@link ProductionDatabaseCheck}'s refusal into Boot's start-up report: what is
 * wrong and what to set, instead of a stack trace.
 */
class ProductionDatabaseFailureAnalyzer extends AbstractFailureAnalyzer<EmbeddedDatabaseInProductionException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, EmbeddedDatabaseInProductionException cause) {
		return new FailureAnalysis(
				"The 'prod' profile is active (the container image and the Kubernetes manifests set it) but the "
						+ "database URL is " + cause.kind() + ". In production every replica must share one "
						+ "PostgreSQL database: an embedded database would keep jobs, datasets and models on one "
						+ "pod and lose them with it.",
				"Set DB_URL (jdbc:postgresql://HOST:5432/DB) with DB_USER and DB_PASSWORD. To try the service "
						+ "without PostgreSQL, run it without the prod profile (unset SPRING_PROFILES_ACTIVE): "
						+ "it then uses an embedded H2 file database.",
				cause);
	}

}
