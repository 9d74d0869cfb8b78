package com.acme.finetune.registry;

import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

import com.acme.finetune.registry.RegistryViews.AliasView;

import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import static com.acme.finetune.registry.RegistryChecks.aliasNotFound;
import static com.acme.finetune.registry.RegistryChecks.checkAlias;
import static com.acme.finetune.registry.RegistryChecks.checkName;
import static com.acme.finetune.registry.RegistryChecks.invalid;
import static com.acme.finetune.registry.RegistryChecks.notFound;

/**
 * Moves and removes aliases, each under the registered model's row lock (as every write
 * to a name in {@link RegisteredModels}), recording every move.
 */
@Service
class RegistryAliases {

	private final RegisteredModelRepository names;

	private final VersionRepository versions;

	private final AliasRepository aliases;

	private final AliasEventRepository events;

	private final RegistryViewAssembler assembler;

	RegistryAliases(RegisteredModelRepository names, VersionRepository versions, AliasRepository aliases,
			AliasEventRepository events, RegistryViewAssembler assembler) {
		this.names = names;
		this.versions = versions;
		this.aliases = aliases;
		this.events = events;
		this.assembler = assembler;
	}

	/**
	 * Points {@code alias} at {@code version}, atomically, recording the move.
	 * @param precondition checks the alias as it is (null when it does not exist yet)
	 * under the name's lock, so two moves that read the same alias cannot both win
	 */
	@Transactional
	AliasView moveAlias(String name, String alias, int version, String actor, Consumer<Object> precondition) {
		checkName(name);
		checkAlias(alias);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		precondition.accept(this.aliases.findById(new AliasEntity.Key(name, alias))
			.map((a) -> this.assembler.aliasViews(List.of(a)).get(0))
			.orElse(null));
		if (this.versions.findByNameAndVersion(name, version).isEmpty()) {
			throw invalid("version", "version " + version + " of " + name + " does not exist");
		}
		AliasEntity moved = move(entity, alias, version, actor, Instant.now());
		return this.assembler.aliasViews(List.of(moved)).get(0);
	}

	/** Removes an alias, recording it. */
	@Transactional
	void deleteAlias(String name, String alias, String actor, Consumer<Object> precondition) {
		checkName(name);
		checkAlias(alias);
		RegisteredModelEntity entity = this.names.lock(name).orElseThrow(() -> notFound(name));
		AliasEntity current = this.aliases.findById(new AliasEntity.Key(name, alias))
			.orElseThrow(() -> aliasNotFound(name, alias));
		precondition.accept(this.assembler.aliasViews(List.of(current)).get(0));
		Instant now = Instant.now();
		this.aliases.delete(current);
		record(name, alias, current.version, null, actor, now);
		entity.updatedAt = now;
		this.names.saveAndFlush(entity);
	}

	/**
	 * Under the name's lock: sets the alias and records the move unless it is a no-op.
	 */
	AliasEntity move(RegisteredModelEntity name, String alias, int version, String actor, Instant now) {
		AliasEntity current = this.aliases.findById(new AliasEntity.Key(name.name, alias)).orElse(null);
		if (current != null && current.version == version) {
			return current;
		}
		AliasEntity row = (current != null) ? current : new AliasEntity();
		Integer from = (current != null) ? current.version : null;
		row.name = name.name;
		row.alias = alias;
		row.version = version;
		row.previousVersion = from;
		row.updatedBy = actor;
		row.updatedAt = now;
		this.aliases.saveAndFlush(row);
		record(name.name, alias, from, version, actor, now);
		name.updatedAt = now;
		this.names.saveAndFlush(name);
		return row;
	}

	private void record(String name, String alias, Integer from, Integer to, String actor, Instant now) {
		AliasEventEntity event = new AliasEventEntity();
		event.name = name;
		event.alias = alias;
		event.fromVersion = from;
		event.toVersion = to;
		event.actor = actor;
		event.createdAt = now;
		this.events.save(event);
	}

}
