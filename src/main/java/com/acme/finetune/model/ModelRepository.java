package com.acme.finetune.model;

import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;

interface ModelRepository extends JpaRepository<ModelEntity, UUID> {

}
