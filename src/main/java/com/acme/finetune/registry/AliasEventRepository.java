package com.acme.finetune.registry;

import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface AliasEventRepository
		extends JpaRepository<AliasEventEntity, Long>, JpaSpecificationExecutor<AliasEventEntity> {

	Page<AliasEventEntity> findByNameAndAlias(String name, String alias, Pageable pageable);

	boolean existsByNameAndAlias(String name, String alias);

	@Modifying
	@Query("delete from AliasEventEntity e where e.name = :name")
	int deleteByName(@Param("name") String name);

}
