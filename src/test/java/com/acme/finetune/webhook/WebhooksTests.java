package com.acme.finetune.webhook;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.acme.finetune.support.StandardWebhooksVerifier;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Sending webhooks to a local receiver: the Standard Webhooks headers verify with an
 * independent implementation, and the SSRF policy holds at delivery time on the address
 * actually connected to.
 */
class WebhooksTests {

	private static final String SECRET = "whsec_" + Base64.getEncoder()
		.encodeToString(
				new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 });

	private static final byte[] BODY = "{\"id\":\"42\",\"status\":\"SUCCEEDED\"}".getBytes(StandardCharsets.UTF_8);

	private final List<Map<String, String>> received = new CopyOnWriteArrayList<>();

	private final List<byte[]> bodies = new CopyOnWriteArrayList<>();

	private final AtomicInteger redirected = new AtomicInteger();

	private HttpServer receiver;

	private int port;

	@BeforeEach
	void startReceiver() throws IOException {
		this.receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
		this.receiver.createContext("/hook", (exchange) -> {
			Map<String, String> headers = new HashMap<>();
			exchange.getRequestHeaders()
				.forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values.get(0)));
			this.received.add(headers);
			this.bodies.add(exchange.getRequestBody().readAllBytes());
			exchange.sendResponseHeaders(204, -1);
			exchange.close();
		});
		this.receiver.createContext("/moved", (exchange) -> {
			exchange.getResponseHeaders().add("Location", "/elsewhere");
			exchange.sendResponseHeaders(307, -1);
			exchange.close();
		});
		this.receiver.createContext("/elsewhere", (exchange) -> {
			this.redirected.incrementAndGet();
			exchange.sendResponseHeaders(204, -1);
			exchange.close();
		});
		this.receiver.start();
		this.port = this.receiver.getAddress().getPort();
	}

	@AfterEach
	void stopReceiver() {
		this.receiver.stop(0);
	}

	@Test
	void aDeliveryVerifiesWithAnIndependentImplementationOfTheScheme() throws IOException {
		int status = webhooks(List.of("127.0.0.1"), Clock.systemUTC()).post(url("/hook?job=42"), "msg_1", BODY,
				Webhooks.signingKey(SECRET));
		assertThat(status).isEqualTo(204);
		assertThat(this.received).hasSize(1);
		Map<String, String> headers = this.received.get(0);
		assertThat(headers).containsEntry("webhook-id", "msg_1").containsEntry("content-type", "application/json");
		assertThat(this.bodies.get(0)).isEqualTo(BODY);
		new StandardWebhooksVerifier(SECRET).verify(headers, this.bodies.get(0));
	}

	@Test
	void signaturesMatchTheSpecificationsTestVector() {
		// the vector of the reference libraries' test suites
		String secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
		byte[] payload = "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8);
		String expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
		assertThat(Webhooks.sign(Webhooks.signingKey(secret), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload))
			.isEqualTo(expected);
		// the test's verifier agrees with the reference too, so it is a fair judge
		assertThat(new StandardWebhooksVerifier(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload))
			.isEqualTo(expected);
	}

	@Test
	void aPlainSecretSignsAsItsWhsecForm() {
		byte[] plain = Webhooks.signingKey("test-callback-secret");
		byte[] standard = Webhooks.signingKey(
				"whsec_" + Base64.getEncoder().encodeToString("test-callback-secret".getBytes(StandardCharsets.UTF_8)));
		assertThat(plain).isEqualTo(standard);
		assertThat(Webhooks.signingKey("")).isNull();
		assertThatThrownBy(() -> Webhooks.signingKey("whsec_not base64!")).isInstanceOf(IllegalArgumentException.class)
			.hasMessageContaining("base64");
	}

	@Test
	void everyAttemptCarriesTheMessageIdAndAFreshTimestamp() throws IOException {
		Instant first = Instant.parse("2030-01-01T00:00:00Z");
		Webhooks early = webhooks(List.of("127.0.0.1"), Clock.fixed(first, ZoneOffset.UTC));
		Webhooks later = webhooks(List.of("127.0.0.1"), Clock.fixed(first.plusSeconds(90), ZoneOffset.UTC));
		early.post(url("/hook"), "msg_same", BODY, Webhooks.signingKey(SECRET));
		later.post(url("/hook"), "msg_same", BODY, Webhooks.signingKey(SECRET));
		assertThat(this.received).extracting((h) -> h.get("webhook-id")).containsExactly("msg_same", "msg_same");
		assertThat(this.received).extracting((h) -> h.get("webhook-timestamp"))
			.containsExactly(Long.toString(first.getEpochSecond()), Long.toString(first.getEpochSecond() + 90));
		// each attempt is signed for its own timestamp
		assertThat(this.received.get(0).get("webhook-signature"))
			.isNotEqualTo(this.received.get(1).get("webhook-signature"));
		new StandardWebhooksVerifier(SECRET, Clock.fixed(first.plusSeconds(90), ZoneOffset.UTC))
			.verify(this.received.get(1), this.bodies.get(1));
	}

	@Test
	void aNameThatResolvesToLoopbackIsRefusedAtDelivery() {
		// the system resolver: localhost is a name, and it resolves to loopback
		Webhooks webhooks = webhooks(List.of(), Clock.systemUTC());
		assertThatThrownBy(() -> webhooks.post("http://localhost:" + this.port + "/hook", "msg_1", BODY, null))
			.isInstanceOf(WebhookRefusedException.class)
			.hasMessageContaining("loopback");
		assertThatThrownBy(() -> webhooks.post("http://127.0.0.1:" + this.port + "/hook", "msg_1", BODY, null))
			.isInstanceOf(WebhookRefusedException.class);
		assertThat(this.received).isEmpty();
	}

	@Test
	void aNameReboundToLoopbackAfterTheSubmissionCheckIsRefused() {
		List<String> answers = new ArrayList<>(List.of("93.184.216.34", "127.0.0.1"));
		WebhookTargets targets = new WebhookTargets(List.of(),
				(host) -> new InetAddress[] { InetAddress.getByName(answers.remove(0)) });
		String url = "http://rebind.example.com:" + this.port + "/hook";
		assertThat(targets.violations(url)).isEmpty();
		Webhooks webhooks = new Webhooks(targets, properties(Duration.ofSeconds(2)), Clock.systemUTC());
		// were the name looked up again for the connection, it would reach the receiver
		assertThatThrownBy(() -> webhooks.post(url, "msg_1", BODY, null)).isInstanceOf(WebhookRefusedException.class)
			.hasMessageContaining("127.0.0.1");
		assertThat(this.received).isEmpty();
	}

	@Test
	void redirectsAreNotFollowed() throws IOException {
		int status = webhooks(List.of("127.0.0.1"), Clock.systemUTC()).post(url("/moved"), "msg_1", BODY, null);
		assertThat(status).isEqualTo(307);
		assertThat(this.redirected).hasValue(0);
	}

	@Test
	void onlyTheStatusLineOfTheAnswerIsRead() throws Exception {
		try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
			Thread answering = new Thread(() -> {
				try (Socket socket = server.accept()) {
					OutputStream out = socket.getOutputStream();
					// a status line and then an answer that never ends
					out.write(
							"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
					out.flush();
					Thread.sleep(5_000);
				}
				catch (IOException | InterruptedException ex) {
					// the client hung up, as it should
				}
			});
			answering.start();
			long started = System.nanoTime();
			int status = webhooks(List.of("127.0.0.1"), Clock.systemUTC())
				.post("http://127.0.0.1:" + server.getLocalPort() + "/", "msg_1", BODY, null);
			assertThat(status).isEqualTo(200);
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
			answering.interrupt();
		}
	}

	@Test
	void aReceiverThatNeverAnswersTimesOut() throws Exception {
		try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
			Webhooks webhooks = new Webhooks(new WebhookTargets(List.of("127.0.0.1"), InetAddress::getAllByName),
					properties(Duration.ofMillis(500)), Clock.systemUTC());
			assertThatThrownBy(
					() -> webhooks.post("http://127.0.0.1:" + server.getLocalPort() + "/", "msg_1", BODY, null))
				.isInstanceOf(SocketTimeoutException.class);
		}
	}

	private String url(String path) {
		return "http://127.0.0.1:" + this.port + path;
	}

	private static Webhooks webhooks(List<String> allowList, Clock clock) {
		return new Webhooks(new WebhookTargets(allowList, InetAddress::getAllByName), properties(Duration.ofSeconds(5)),
				clock);
	}

	private static WebhookProperties properties(Duration timeout) {
		return new WebhookProperties(List.of(), Duration.ofSeconds(2), timeout);
	}

}
