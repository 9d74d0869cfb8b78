/**
 * Outbound webhooks: where they may go (no internal targets unless allowed) and how they
 * are sent and signed (the Standard Webhooks scheme).
 */
@NullMarked
package com.acme.finetune.webhook;

import org.jspecify.annotations.NullMarked;
