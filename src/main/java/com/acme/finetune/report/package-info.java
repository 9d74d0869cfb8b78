/**
 * Human-readable job reports: an HTML page and standalone SVG charts rendered on the
 * server from the job's public API, so they work offline and in air-gapped clusters (no
 * scripts, no fonts or libraries from a CDN).
 */
@NullMarked
package com.acme.finetune.report;

import org.jspecify.annotations.NullMarked;
