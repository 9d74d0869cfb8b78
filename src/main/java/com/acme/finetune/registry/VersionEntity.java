package com.acme.finetune.registry;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** One version of a registered model: a model under the name, numbered from 1. */
@Entity
@Table(name = "registered_model_versions")
class VersionEntity {

	@Id
	UUID id;

	String name;

	int version;

	UUID modelId;

	/** {@code job} (a job's {@code register}) or {@code api}. */
	String source;

	String registeredBy;

	Instant createdAt;

}
