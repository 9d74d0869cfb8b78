package com.acme.finetune.dataset;

import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Query;

interface DatasetRepository extends JpaRepository<DatasetEntity, UUID>, JpaSpecificationExecutor<DatasetEntity> {

	@Query("select f from DatasetFileEntity f where f.datasetId = ?1 order by f.path")
	List<DatasetFileEntity> findFiles(UUID datasetId);

	@Query("select distinct f.sha256 from DatasetFileEntity f where f.datasetId = ?1")
	List<String> findBlobDigests(UUID datasetId);

}
