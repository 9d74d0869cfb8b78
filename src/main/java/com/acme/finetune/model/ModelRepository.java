package com.acme.finetune.model;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Query;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

interface ModelRepository extends JpaRepository<ModelEntity, UUID>, JpaSpecificationExecutor<ModelEntity> {

	Optional<ModelEntity> findFirstByJobIdOrderByCreatedAtAsc(UUID jobId);

	/**
	 * Locks the model's row until the transaction ends (empty when there is none): a job
	 * that starts from the model and the model's deletion take turns.
	 */
	@Transactional(propagation = Propagation.MANDATORY)
	@Query(value = "select 1 from models where id = :id for update", nativeQuery = true)
	List<Integer> lock(UUID id);

}
