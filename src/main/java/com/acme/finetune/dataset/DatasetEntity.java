package com.acme.finetune.dataset;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.persistence.CollectionTable;
import jakarta.persistence.Column;
import jakarta.persistence.ElementCollection;
import jakarta.persistence.Embeddable;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.OrderColumn;
import jakarta.persistence.Table;

/**
 * The persisted dataset; mapped to {@link DatasetSummary} before it leaves the package.
 */
@Entity
@Table(name = "dataset")
class DatasetEntity {

	@Id
	private UUID id;

	private String name;

	private String status;

	private int imageCount;

	private int trainCount;

	private int validationCount;

	private long sizeBytes;

	private String sha256;

	private Double validationSplit;

	private Instant createdAt;

	@ElementCollection
	@CollectionTable(name = "dataset_class", joinColumns = @JoinColumn(name = "dataset_id"))
	@OrderColumn(name = "label_index")
	private List<DatasetClass> classes = new ArrayList<>();

	@ElementCollection
	@CollectionTable(name = "dataset_warning", joinColumns = @JoinColumn(name = "dataset_id"))
	@OrderColumn(name = "warning_index")
	private List<StoredWarning> warnings = new ArrayList<>();

	protected DatasetEntity() {
	}

	DatasetEntity(UUID id, String name, String status, int trainCount, int validationCount, long sizeBytes,
			String sha256, Double validationSplit, Instant createdAt) {
		this.id = id;
		this.name = name;
		this.status = status;
		this.imageCount = trainCount + validationCount;
		this.trainCount = trainCount;
		this.validationCount = validationCount;
		this.sizeBytes = sizeBytes;
		this.sha256 = sha256;
		this.validationSplit = validationSplit;
		this.createdAt = createdAt;
	}

	UUID getId() {
		return this.id;
	}

	String getName() {
		return this.name;
	}

	String getStatus() {
		return this.status;
	}

	int getImageCount() {
		return this.imageCount;
	}

	int getTrainCount() {
		return this.trainCount;
	}

	int getValidationCount() {
		return this.validationCount;
	}

	long getSizeBytes() {
		return this.sizeBytes;
	}

	String getSha256() {
		return this.sha256;
	}

	Double getValidationSplit() {
		return this.validationSplit;
	}

	Instant getCreatedAt() {
		return this.createdAt;
	}

	List<DatasetClass> getClasses() {
		return this.classes;
	}

	List<StoredWarning> getWarnings() {
		return this.warnings;
	}

	/** One class; its position in the list is its label index. */
	@Embeddable
	static class DatasetClass {

		private String label;

		private int imageCount;

		private int trainCount;

		private int validationCount;

		protected DatasetClass() {
		}

		DatasetClass(String label, int trainCount, int validationCount) {
			this.label = label;
			this.imageCount = trainCount + validationCount;
			this.trainCount = trainCount;
			this.validationCount = validationCount;
		}

		String getLabel() {
			return this.label;
		}

		int getImageCount() {
			return this.imageCount;
		}

		int getTrainCount() {
			return this.trainCount;
		}

		int getValidationCount() {
			return this.validationCount;
		}

	}

	/**
	 * A warning; its structured part (files, class weights) is JSON text for portability.
	 */
	@Embeddable
	static class StoredWarning {

		private String code;

		private String message;

		@Column(name = "details")
		private String details;

		protected StoredWarning() {
		}

		StoredWarning(String code, String message, String details) {
			this.code = code;
			this.message = message;
			this.details = details;
		}

		String getCode() {
			return this.code;
		}

		String getMessage() {
			return this.message;
		}

		String getDetails() {
			return this.details;
		}

	}

}
