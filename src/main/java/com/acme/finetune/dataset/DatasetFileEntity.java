package com.acme.finetune.dataset;

import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/**
 * One image of a dataset. Written with JDBC batches (a dataset can hold 100 000 of them)
 * and read through JPA.
 */
@Entity
@Table(name = "dataset_file")
class DatasetFileEntity {

	static final String TRAIN = "train";

	static final String VALIDATION = "validation";

	@Id
	private UUID id;

	private UUID datasetId;

	private String path;

	private int labelIndex;

	private String split;

	private long sizeBytes;

	private String sha256;

	private int width;

	private int height;

	protected DatasetFileEntity() {
	}

	UUID getId() {
		return this.id;
	}

	UUID getDatasetId() {
		return this.datasetId;
	}

	String getPath() {
		return this.path;
	}

	int getLabelIndex() {
		return this.labelIndex;
	}

	String getSplit() {
		return this.split;
	}

	long getSizeBytes() {
		return this.sizeBytes;
	}

	String getSha256() {
		return this.sha256;
	}

	int getWidth() {
		return this.width;
	}

	int getHeight() {
		return this.height;
	}

}
