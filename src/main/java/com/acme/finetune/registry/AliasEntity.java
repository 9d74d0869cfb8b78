package com.acme.finetune.registry;

import java.io.Serializable;
import java.time.Instant;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

/** Where an alias of a registered model points now. */
@Entity
@Table(name = "registered_model_aliases")
@IdClass(AliasEntity.Key.class)
class AliasEntity {

	@Id
	String name;

	@Id
	String alias;

	int version;

	/** The version before the last move; null when the alias was created there. */
	Integer previousVersion;

	String updatedBy;

	Instant updatedAt;

	record Key(String name, String alias) implements Serializable {
	}

}
