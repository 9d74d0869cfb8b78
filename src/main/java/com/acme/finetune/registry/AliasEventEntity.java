package com.acme.finetune.registry;

import java.time.Instant;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** One move of an alias: from null = created, to null = removed. */
@Entity
@Table(name = "registered_model_alias_events")
class AliasEventEntity {

	@Id
	@GeneratedValue(strategy = GenerationType.IDENTITY)
	Long id;

	String name;

	String alias;

	Integer fromVersion;

	Integer toVersion;

	String actor;

	Instant createdAt;

}
