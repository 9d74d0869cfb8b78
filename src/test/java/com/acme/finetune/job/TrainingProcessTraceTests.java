package com.acme.finetune.job;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job attempt's trace context as the training process and the queued callback receive
 * it.
 */
class TrainingProcessTraceTests {

	private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

	@AfterEach
	void clear() {
		MDC.clear();
	}

	@Test
	void theRequestCarriesTheTraceparent() {
		TrainingProcessProtocol.Request request = new TrainingProcessProtocol.Request(null, null, false, TRACEPARENT);
		String json = TrainingProcessProtocol.JSON.writeValueAsString(request);
		assertThat(TrainingProcessProtocol.JSON.readValue(json, TrainingProcessProtocol.Request.class).traceparent())
			.isEqualTo(TRACEPARENT);
		// a request written before traces has none
		assertThat(TrainingProcessProtocol.JSON.readValue("{\"gated\":false}", TrainingProcessProtocol.Request.class)
			.traceparent()).isNull();
	}

	@Test
	void theProcessLogsWithTheAttemptsTraceIds() {
		TrainingProcessMain.correlateLogs(TRACEPARENT);
		assertThat(MDC.get("traceId")).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
		assertThat(MDC.get("spanId")).isEqualTo("00f067aa0ba902b7");
	}

	@Test
	void noOrAMalformedTraceparentLeavesTheLogsAlone() {
		TrainingProcessMain.correlateLogs(null);
		TrainingProcessMain.correlateLogs("not-a-traceparent");
		assertThat(MDC.get("traceId")).isNull();
	}

	@Test
	void aQueuedCallbackKeepsTheTraceparent() {
		java.util.UUID jobId = java.util.UUID.randomUUID();
		JobCallbacks.Message message = JobCallbacks.Message.create(jobId, TRACEPARENT);
		assertThat(JobCallbacks.Message.parse("instance", message.data())).isEqualTo(message);
		// messages queued before traces (or without a trace) have none
		JobCallbacks.Message untraced = JobCallbacks.Message.create(jobId, null);
		assertThat(untraced.data()).isEqualTo(jobId + " " + untraced.webhookId());
		assertThat(JobCallbacks.Message.parse("instance", untraced.data())).isEqualTo(untraced);
	}

}
