/**
 * Evaluations (a model scored on a labelled dataset it may never have seen) and batch
 * predictions (a model run over an archive or dataset of images): both run on the workers
 * through the job queue as kinds of {@link com.acme.finetune.job.QueuedWork}, and both
 * classify with {@link com.acme.finetune.inference.BulkInference}, the serving
 * preprocessing in large batches.
 */
package com.acme.finetune.evaluation;
