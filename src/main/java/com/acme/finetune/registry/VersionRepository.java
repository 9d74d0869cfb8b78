package com.acme.finetune.registry;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface VersionRepository extends JpaRepository<VersionEntity, UUID>, JpaSpecificationExecutor<VersionEntity> {

	Optional<VersionEntity> findByNameAndVersion(String name, int version);

	Page<VersionEntity> findByName(String name, Pageable pageable);

	List<VersionEntity> findByNameOrderByVersionDesc(String name);

	List<VersionEntity> findByNameAndModelId(String name, UUID modelId);

	List<VersionEntity> findByModelIdIn(Collection<UUID> modelIds);

	@Query("select max(v.version) from VersionEntity v where v.name = :name")
	Integer latestVersion(@Param("name") String name);

	@Query("select v.name, max(v.version), count(v) from VersionEntity v where v.name in :names group by v.name")
	List<Object[]> latestAndCount(@Param("names") Collection<String> names);

	@Modifying
	@Query("delete from VersionEntity v where v.name = :name")
	int deleteByName(@Param("name") String name);

}
