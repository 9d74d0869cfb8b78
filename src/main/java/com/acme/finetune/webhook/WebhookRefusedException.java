package com.acme.finetune.webhook;

import java.net.UnknownHostException;

/**
 * A webhook target that the policy does not allow. An {@link UnknownHostException}, so
 * that the HTTP client's resolver can refuse a connection with it before any socket is
 * opened.
 */
public class WebhookRefusedException extends UnknownHostException {

	WebhookRefusedException(String message) {
		super(message);
	}

}
