package com.acme.finetune.registry;

import java.time.Instant;
import java.util.Optional;

import jakarta.persistence.LockModeType;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface RegisteredModelRepository
		extends JpaRepository<RegisteredModelEntity, String>, JpaSpecificationExecutor<RegisteredModelEntity> {

	/**
	 * The row, locked until the transaction ends: writes to one name run one after the
	 * other, so version numbers and alias moves never race.
	 */
	@Lock(LockModeType.PESSIMISTIC_WRITE)
	@Query("select m from RegisteredModelEntity m where m.name = :name")
	Optional<RegisteredModelEntity> lock(@Param("name") String name);

	/**
	 * Inserts a new name without versions; a plain insert (never a merge into a row a
	 * concurrent request created), so a race ends in a key violation, not an overwrite.
	 */
	@Modifying
	@Query(value = "insert into registered_models (name, tags, next_version, created_at, updated_at) "
			+ "values (:name, '{}', 1, :now, :now)", nativeQuery = true)
	int insert(@Param("name") String name, @Param("now") Instant now);

}
