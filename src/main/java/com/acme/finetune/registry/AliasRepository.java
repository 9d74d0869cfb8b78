package com.acme.finetune.registry;

import java.util.Collection;
import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface AliasRepository extends JpaRepository<AliasEntity, AliasEntity.Key> {

	List<AliasEntity> findByNameOrderByAlias(String name);

	List<AliasEntity> findByNameInOrderByAlias(Collection<String> names);

	List<AliasEntity> findByNameAndVersion(String name, int version);

	/** The aliases that point to a version which is this model. */
	@Query("select a from AliasEntity a, VersionEntity v where a.name = v.name and a.version = v.version "
			+ "and v.modelId = :modelId order by a.name, a.alias")
	List<AliasEntity> findPointingTo(@Param("modelId") UUID modelId);

	@Modifying
	@Query("delete from AliasEntity a where a.name = :name")
	int deleteByName(@Param("name") String name);

}
