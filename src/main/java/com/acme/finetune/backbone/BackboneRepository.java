package com.acme.finetune.backbone;

import java.util.List;

import org.springframework.data.jpa.repository.JpaRepository;

interface BackboneRepository extends JpaRepository<BackboneEntity, String> {

	List<BackboneEntity> findAllByOrderByCreatedAtAsc();

}
