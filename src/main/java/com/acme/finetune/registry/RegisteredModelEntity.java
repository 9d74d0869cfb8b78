package com.acme.finetune.registry;

import java.time.Instant;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A registered model's row; every write to the name locks it first. */
@Entity
@Table(name = "registered_models")
class RegisteredModelEntity {

	@Id
	String name;

	String description;

	/** Tags as a JSON object of strings. */
	String tags;

	/** The number the next version gets (numbers are never reused). */
	int nextVersion;

	Instant createdAt;

	Instant updatedAt;

}
