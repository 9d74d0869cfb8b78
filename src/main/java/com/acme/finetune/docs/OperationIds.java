package com.acme.finetune.docs;

import java.util.Map;

/**
 * Operation ids by handler ({@code Controller#method}) and default summaries by id. Ids
 * are part of the generated clients' API: add, never rename.
 */
final class OperationIds {

	private OperationIds() {
	}

	static final Map<String, String> ID = Map.ofEntries(Map.entry("DatasetController#upload", "uploadDataset"),
			Map.entry("DatasetController#list", "listDatasets"), Map.entry("DatasetController#get", "getDataset"),
			Map.entry("DatasetController#delete", "deleteDataset"),
			Map.entry("BackboneController#upload", "uploadBackbone"),
			Map.entry("BackboneController#list", "listBackbones"), Map.entry("BackboneController#get", "getBackbone"),
			Map.entry("BackboneController#delete", "deleteBackbone"), Map.entry("JobController#submit", "submitJob"),
			Map.entry("JobController#validate", "validateJob"), Map.entry("JobController#list", "listJobs"),
			Map.entry("JobController#get", "getJob"), Map.entry("JobController#metrics", "getJobMetrics"),
			Map.entry("JobController#events", "streamJobEvents"), Map.entry("JobController#cancel", "cancelJob"),
			Map.entry("JobController#resume", "resumeJob"), Map.entry("ModelController#list", "listModels"),
			Map.entry("ModelController#get", "getModel"), Map.entry("ModelController#delete", "deleteModel"),
			Map.entry("ModelController#artifact", "downloadModelArtifact"),
			Map.entry("ModelController#export", "exportModel"), Map.entry("PredictionController#predict", "predict"),
			Map.entry("ReportController#page", "getJobReport"), Map.entry("ReportController#loss", "getJobLossChart"),
			Map.entry("ReportController#accuracy", "getJobAccuracyChart"),
			Map.entry("ReportController#learningRate", "getJobLearningRateChart"),
			Map.entry("ReportController#confusionMatrix", "getJobConfusionMatrixChart"),
			Map.entry("RegisteredModelController#list", "listRegisteredModels"),
			Map.entry("RegisteredModelController#get", "getRegisteredModel"),
			Map.entry("RegisteredModelController#update", "updateRegisteredModel"),
			Map.entry("RegisteredModelController#delete", "deleteRegisteredModel"),
			Map.entry("RegisteredModelController#register", "registerModelVersion"),
			Map.entry("RegisteredModelController#versions", "listModelVersions"),
			Map.entry("RegisteredModelController#version", "getModelVersion"),
			Map.entry("RegisteredModelController#deleteVersion", "deleteModelVersion"),
			Map.entry("RegisteredModelController#aliases", "listAliases"),
			Map.entry("RegisteredModelController#alias", "getAlias"),
			Map.entry("RegisteredModelController#moveAlias", "moveAlias"),
			Map.entry("RegisteredModelController#deleteAlias", "deleteAlias"),
			Map.entry("RegisteredModelController#history", "listAliasHistory"),
			Map.entry("RegisteredModelController#predictByAlias", "predictByAlias"),
			Map.entry("RegisteredModelController#predictByVersion", "predictByVersion"));

	static final Map<String, String> SUMMARY = Map.ofEntries(
			Map.entry("uploadDataset", "Upload an ImageFolder dataset (zip or tar.gz); every image is decoded"),
			Map.entry("listDatasets", "List datasets, newest first (offset or cursor paging)"),
			Map.entry("getDataset", "A dataset with its classes, split and warnings"),
			Map.entry("deleteDataset", "Delete a dataset (409 while an active job uses it)"),
			Map.entry("uploadBackbone", "Upload a TorchScript backbone (checked in a sandbox)"),
			Map.entry("listBackbones", "List the backbones jobs can start from"),
			Map.entry("getBackbone", "One backbone"), Map.entry("deleteBackbone", "Delete an uploaded backbone"),
			Map.entry("submitJob", "Submit a fine-tuning job"),
			Map.entry("validateJob", "What a job would do, without running it"),
			Map.entry("listJobs", "List jobs, newest first (offset or cursor paging)"),
			Map.entry("getJob", "A job with its status and progress"),
			Map.entry("getJobMetrics", "Per-epoch metrics and, once succeeded, the final evaluation"),
			Map.entry("streamJobEvents", "Server-Sent Events: status, progress, epoch, done"),
			Map.entry("cancelJob", "Cancel a queued or running job"),
			Map.entry("resumeJob", "Resume a failed or cancelled job from its checkpoint"),
			Map.entry("listModels", "List models, newest first (offset or cursor paging)"),
			Map.entry("getModel", "A model with its labels and metrics"),
			Map.entry("deleteModel", "Delete a model (409 while aliased or the base of an active job)"),
			Map.entry("downloadModelArtifact", "The model as a zip plain DJL loads"),
			Map.entry("predict", "Top-k predictions for one or more images"));

}
