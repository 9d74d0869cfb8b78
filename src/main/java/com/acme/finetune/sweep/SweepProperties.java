package com.acme.finetune.sweep;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Sweep scheduling ({@code app.sweeps.*}).
 *
 * @param tickInterval how often each node looks at the running sweeps: the most a
 * finished trial waits for its successor
 */
@ConfigurationProperties("app.sweeps")
public record SweepProperties(@DefaultValue("2s") Duration tickInterval) {
}
