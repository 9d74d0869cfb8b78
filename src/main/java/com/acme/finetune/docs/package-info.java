/**
 * The OpenAPI description of the service served at {@code /v3/api-docs} and in Swagger
 * UI.
 */
@NullMarked
package com.acme.finetune.docs;

import org.jspecify.annotations.NullMarked;
