package com.acme.finetune.model;

import java.util.UUID;

/**
 * Published when a model is deleted, before its files are removed, so that whoever holds
 * it in memory (inference) can release it without this package knowing about them.
 */
public record ModelDeleted(UUID modelId) {
}
