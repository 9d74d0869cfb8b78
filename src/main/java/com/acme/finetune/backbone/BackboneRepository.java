package com.acme.finetune.backbone;

import java.util.List;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

interface BackboneRepository extends JpaRepository<BackboneEntity, String> {

	List<BackboneEntity> findAllByOrderByCreatedAtAsc();

	/**
	 * Locks the backbone's row until the transaction ends (empty when there is none): a
	 * job that starts from the backbone and the backbone's deletion take turns.
	 */
	@Transactional(propagation = Propagation.MANDATORY)
	@Query(value = "select 1 from backbones where id = :id for update", nativeQuery = true)
	List<Integer> lock(String id);

}
