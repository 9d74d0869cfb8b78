/**
 * Traces beyond the HTTP requests Spring Boot observes: spans for work that runs later or
 * elsewhere (job attempts, their epochs, webhook deliveries) and the W3C
 * {@code traceparent} that carries a trace across a queue or into another process.
 */
@NullMarked
package com.acme.finetune.tracing;

import org.jspecify.annotations.NullMarked;
