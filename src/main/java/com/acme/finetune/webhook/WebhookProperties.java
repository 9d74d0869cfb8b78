package com.acme.finetune.webhook;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Outbound webhooks.
 *
 * @param allowedTargets exceptions to the rule that webhooks only go to public addresses:
 * host names ({@code hooks.internal}, {@code *.corp.example} for subdomains), addresses
 * or CIDR ranges ({@code 10.1.2.0/24}, {@code fd00::/8}) a receiver inside the private
 * network may use
 * @param connectTimeout longest wait for the receiver's connection
 * @param timeout longest wait for the receiver's answer
 */
@ConfigurationProperties("app.webhooks")
public record WebhookProperties(@DefaultValue List<String> allowedTargets, @DefaultValue("5s") Duration connectTimeout,
		@DefaultValue("10s") Duration timeout) {
}
