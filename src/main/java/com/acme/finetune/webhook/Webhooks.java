package com.acme.finetune.webhook;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

import com.acme.finetune.tracing.Traces;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Sends webhooks as the Standard Webhooks specification describes: a POST with
 * {@code webhook-id} (the same for every attempt of one message, so receivers can drop
 * duplicates), {@code webhook-timestamp} (seconds, fresh on every attempt, so receivers
 * can refuse old messages) and {@code webhook-signature: v1,<base64>}, an HMAC-SHA256 of
 * {@code <id>.<timestamp>.<body>}.
 * <p>
 * The connection goes only to an address that {@link WebhookTargets} checked: the host is
 * resolved once, each address checked, and the socket connected to that very address, so
 * an attacker's DNS cannot answer the check and the connection differently (rebinding).
 * {@code java.net.http.HttpClient} cannot be given an address to connect to, and Apache
 * HttpClient on the classpath would change every {@code RestClient} of the application,
 * hence this small HTTP/1.1 client: one request, {@code Connection: close}, TLS with host
 * name verification, no proxy, no redirects, and only the status line of the answer is
 * read.
 * <p>
 * When a span is current (the delivery's), the request carries its W3C
 * {@code traceparent}, so the receiver's trace continues the sender's.
 */
@Component
public class Webhooks {

	public static final String ID_HEADER = "webhook-id";

	public static final String TIMESTAMP_HEADER = "webhook-timestamp";

	public static final String SIGNATURE_HEADER = "webhook-signature";

	/** The prefix of secrets in the Standard Webhooks format. */
	public static final String SECRET_PREFIX = "whsec_";

	private static final int MAX_STATUS_LINE = 8192;

	private final WebhookTargets targets;

	private final WebhookProperties properties;

	private final Clock clock;

	private final Traces traces;

	@Autowired
	Webhooks(WebhookTargets targets, WebhookProperties properties, Traces traces) {
		this(targets, properties, Clock.systemUTC(), traces);
	}

	Webhooks(WebhookTargets targets, WebhookProperties properties, Clock clock) {
		this(targets, properties, clock, Traces.NONE);
	}

	Webhooks(WebhookTargets targets, WebhookProperties properties, Clock clock, Traces traces) {
		this.targets = targets;
		this.properties = properties;
		this.clock = clock;
		this.traces = traces;
	}

	/**
	 * Posts one attempt of a message.
	 * @param url where to, checked against the target policy
	 * @param id the message's id, the same for every attempt
	 * @param body the JSON body, signed as sent
	 * @param key the signing key ({@link #signingKey}), or null to send unsigned
	 * @return the receiver's HTTP status
	 * @throws WebhookRefusedException when the target is not allowed (not worth a retry)
	 * @throws IOException when the receiver could not be reached or answered nonsense
	 * (worth a retry)
	 */
	public int post(String url, String id, byte[] body, byte[] key) throws IOException {
		URI uri = this.targets.parse(url);
		String host = uri.getHost();
		boolean tls = "https".equalsIgnoreCase(uri.getScheme());
		int port = (uri.getPort() != -1) ? uri.getPort() : (tls ? 443 : 80);
		InetAddress[] addresses = this.targets.resolve(host);
		long timestamp = this.clock.instant().getEpochSecond();
		Map<String, String> headers = new LinkedHashMap<>();
		headers.put("Host", (uri.getPort() != -1) ? host + ":" + port : host);
		headers.put("User-Agent", "finetune-service-webhooks");
		headers.put("Content-Type", "application/json");
		headers.put("Content-Length", Integer.toString(body.length));
		headers.put("Connection", "close");
		headers.put(ID_HEADER, id);
		headers.put(TIMESTAMP_HEADER, Long.toString(timestamp));
		if (key != null) {
			headers.put(SIGNATURE_HEADER, sign(key, id, timestamp, body));
		}
		String traceparent = this.traces.currentTraceparent();
		if (traceparent != null) {
			headers.put(Traces.TRACEPARENT, traceparent);
		}
		try (Socket socket = connect(addresses, port)) {
			Socket channel = tls ? startTls(socket, host, port) : socket;
			OutputStream out = channel.getOutputStream();
			out.write(requestHead(uri, headers).getBytes(StandardCharsets.ISO_8859_1));
			out.write(body);
			out.flush();
			return status(channel.getInputStream());
		}
	}

	/** Connects to the first address that answers, each already checked. */
	private Socket connect(InetAddress[] addresses, int port) throws IOException {
		IOException failure = null;
		for (InetAddress address : addresses) {
			Socket socket = new Socket();
			try {
				socket.connect(new InetSocketAddress(address, port), (int) this.properties.connectTimeout().toMillis());
				socket.setSoTimeout((int) this.properties.timeout().toMillis());
				return socket;
			}
			catch (IOException ex) {
				socket.close();
				if (failure == null) {
					failure = ex;
				}
				else {
					failure.addSuppressed(ex);
				}
			}
		}
		throw (failure != null) ? failure : new IOException("no address to connect to");
	}

	/** TLS over the connected socket, verifying the certificate against the host name. */
	private static Socket startTls(Socket socket, String host, int port) throws IOException {
		String name = (host.startsWith("[") && host.endsWith("]")) ? host.substring(1, host.length() - 1) : host;
		SSLSocket tls = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault()).createSocket(socket, name, port,
				true);
		SSLParameters parameters = tls.getSSLParameters();
		parameters.setEndpointIdentificationAlgorithm("HTTPS");
		tls.setSSLParameters(parameters);
		tls.startHandshake();
		return tls;
	}

	private static String requestHead(URI uri, Map<String, String> headers) {
		String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty()) ? "/" : uri.getRawPath();
		String target = (uri.getRawQuery() != null) ? path + "?" + uri.getRawQuery() : path;
		StringBuilder head = new StringBuilder("POST ").append(target).append(" HTTP/1.1\r\n");
		headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
		return head.append("\r\n").toString();
	}

	/** The status code from {@code HTTP/1.1 204 No Content}; the rest is not read. */
	private static int status(InputStream in) throws IOException {
		ByteArrayOutputStream line = new ByteArrayOutputStream();
		int c;
		while ((c = in.read()) != -1 && c != '\n') {
			if (line.size() == MAX_STATUS_LINE) {
				throw new IOException("The receiver's status line is longer than " + MAX_STATUS_LINE + " bytes");
			}
			line.write(c);
		}
		String[] parts = line.toString(StandardCharsets.ISO_8859_1).strip().split(" ", 3);
		if (parts.length < 2 || !parts[0].startsWith("HTTP/") || !parts[1].matches("\\d{3}")) {
			throw new IOException("The receiver did not answer HTTP");
		}
		return Integer.parseInt(parts[1]);
	}

	/**
	 * The HMAC key of a configured secret: a {@code whsec_<base64>} secret (the Standard
	 * Webhooks format) is the decoded bytes; any other secret is its UTF-8 bytes, which a
	 * Standard Webhooks library verifies as {@code whsec_} + base64(secret). Null for no
	 * secret.
	 * @throws IllegalArgumentException when a {@code whsec_} secret is not base64
	 */
	public static byte[] signingKey(String secret) {
		if (secret == null || secret.isEmpty()) {
			return null;
		}
		if (secret.startsWith(SECRET_PREFIX)) {
			byte[] key;
			try {
				key = Base64.getDecoder().decode(secret.substring(SECRET_PREFIX.length()));
			}
			catch (IllegalArgumentException ex) {
				throw new IllegalArgumentException("A webhook secret starting with " + SECRET_PREFIX
						+ " must continue in base64: " + ex.getMessage(), ex);
			}
			if (key.length == 0) {
				throw new IllegalArgumentException(
						"The webhook secret " + SECRET_PREFIX + " has no key after its prefix");
			}
			return key;
		}
		return secret.getBytes(StandardCharsets.UTF_8);
	}

	/** {@code v1,} and the base64 HMAC-SHA256 of {@code <id>.<timestamp>.<body>}. */
	static String sign(byte[] key, String id, long timestamp, byte[] body) {
		try {
			Mac mac = Mac.getInstance("HmacSHA256");
			mac.init(new SecretKeySpec(key, "HmacSHA256"));
			mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
			return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
