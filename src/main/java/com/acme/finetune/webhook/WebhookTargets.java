package com.acme.finetune.webhook;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Where webhooks may go, so that a client cannot make the service call its own network
 * (SSRF): an {@code http} or {@code https} URL without user info whose host resolves only
 * to public unicast addresses. Refused: loopback, link-local (including the cloud
 * metadata address 169.254.169.254), private ranges (RFC 1918, IPv6 unique local
 * {@code fc00::/7}), shared address space (CGNAT {@code 100.64.0.0/10}), multicast,
 * unspecified and reserved addresses, and the same addresses embedded in IPv6 forms
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4). The configured allow-list
 * ({@code app.webhooks.allowed-targets}) exempts host names and address ranges.
 * <p>
 * Checked when a job is submitted, and again when the webhook is delivered on exactly the
 * addresses the connection uses ({@link #resolve}, the HTTP client's resolver), so a name
 * that resolves elsewhere by then (DNS rebinding) is refused too.
 */
@Component
public class WebhookTargets {

	static final int MAX_URL_LENGTH = 2048;

	private static final Pattern IPV4_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

	private final List<Network> allowedNetworks = new ArrayList<>();

	private final List<String> allowedHosts = new ArrayList<>();

	private final Resolver resolver;

	/** Resolves a host name to addresses: the system resolver outside tests. */
	@FunctionalInterface
	interface Resolver {

		InetAddress[] resolve(String host) throws UnknownHostException;

	}

	@Autowired
	WebhookTargets(WebhookProperties properties) {
		this(properties.allowedTargets(), InetAddress::getAllByName);
	}

	WebhookTargets(List<String> allowList, Resolver resolver) {
		this.resolver = resolver;
		for (String entry : allowList) {
			String value = entry.strip().toLowerCase(Locale.ROOT);
			if (value.isEmpty()) {
				continue;
			}
			if (value.contains("/") || isIpLiteral(value)) {
				this.allowedNetworks.add(Network.parse(value));
			}
			else {
				this.allowedHosts.add(stripTrailingDot(value));
			}
		}
	}

	/**
	 * What is wrong with a URL as a webhook target, resolving its host now; an empty list
	 * when it is allowed.
	 */
	public List<String> violations(String url) {
		try {
			URI uri = parse(url);
			if (!isAllowedHost(uri.getHost())) {
				resolve(uri.getHost());
			}
			return List.of();
		}
		catch (WebhookRefusedException ex) {
			return List.of(ex.getMessage());
		}
		catch (UnknownHostException ex) {
			return List.of("host does not resolve: " + ex.getMessage());
		}
	}

	/**
	 * The URL, when its form is acceptable: http(s), a host, no user info.
	 * @throws WebhookRefusedException otherwise
	 */
	URI parse(String url) throws WebhookRefusedException {
		if (url.length() > MAX_URL_LENGTH) {
			throw new WebhookRefusedException("is longer than " + MAX_URL_LENGTH + " characters");
		}
		URI uri;
		try {
			uri = new URI(url);
		}
		catch (URISyntaxException ex) {
			throw new WebhookRefusedException("is not a valid URL: " + ex.getReason());
		}
		String scheme = (uri.getScheme() != null) ? uri.getScheme().toLowerCase(Locale.ROOT) : "";
		if (!scheme.equals("http") && !scheme.equals("https")) {
			throw new WebhookRefusedException("must use http or https, not '" + scheme + "'");
		}
		if (uri.getRawUserInfo() != null) {
			throw new WebhookRefusedException("must not contain user info (credentials) before the host");
		}
		if (uri.getHost() == null || uri.getHost().isEmpty()) {
			throw new WebhookRefusedException("has no valid host name");
		}
		return uri;
	}

	/**
	 * The addresses of a host, when every one of them may be called: a host on the
	 * allow-list resolves without checks; otherwise a forbidden address anywhere among
	 * them refuses the host.
	 * @throws WebhookRefusedException when an address is not allowed
	 * @throws UnknownHostException when the host does not resolve
	 */
	InetAddress[] resolve(String host) throws UnknownHostException {
		String name = unbracket(host);
		InetAddress[] addresses = this.resolver.resolve(name);
		if (isAllowedHost(name)) {
			return addresses;
		}
		for (InetAddress address : addresses) {
			String reason = forbidden(address);
			if (reason != null && !isAllowedAddress(address)) {
				throw new WebhookRefusedException("host '" + name + "' resolves to " + address.getHostAddress() + ", a "
						+ reason + " address; webhooks only go to public addresses unless "
						+ "app.webhooks.allowed-targets allows it");
			}
		}
		return addresses;
	}

	private boolean isAllowedHost(String host) {
		String name = stripTrailingDot(unbracket(host).toLowerCase(Locale.ROOT));
		for (String allowed : this.allowedHosts) {
			if (allowed.startsWith("*.") ? name.endsWith(allowed.substring(1)) : name.equals(allowed)) {
				return true;
			}
		}
		return false;
	}

	private boolean isAllowedAddress(InetAddress address) {
		return this.allowedNetworks.stream().anyMatch((network) -> network.contains(address));
	}

	/** Why an address may not be called, or null when it is a public unicast address. */
	static String forbidden(InetAddress address) {
		byte[] b = address.getAddress();
		if (address instanceof Inet6Address) {
			byte[] embedded = embeddedIpv4(b);
			if (embedded != null) {
				String reason = forbidden(ipv4(embedded));
				return (reason != null) ? reason + " (IPv4 inside an IPv6)" : null;
			}
		}
		if (address.isAnyLocalAddress()) {
			return "unspecified";
		}
		if (address.isLoopbackAddress()) {
			return "loopback";
		}
		if (address.isLinkLocalAddress()) {
			return "link-local (cloud metadata)";
		}
		if (address.isSiteLocalAddress()) {
			return "private";
		}
		if (address.isMulticastAddress()) {
			return "multicast";
		}
		int first = b[0] & 0xff;
		int second = b[1] & 0xff;
		if (address instanceof Inet4Address) {
			if (first == 0) {
				return "unspecified (this network)";
			}
			if (first == 100 && (second & 0xc0) == 64) {
				return "shared (CGNAT)";
			}
			if (first == 192 && second == 0 && (b[2] & 0xff) == 0) {
				return "reserved (IETF protocol assignments)";
			}
			if (first == 198 && (second & 0xfe) == 18) {
				return "reserved (benchmarking)";
			}
			if (first >= 240) {
				return "reserved";
			}
			return null;
		}
		if ((first & 0xfe) == 0xfc) {
			return "private (unique local)";
		}
		if (first == 0 && allZero(b, 1, 16)) {
			return "unspecified";
		}
		return null;
	}

	/**
	 * The IPv4 address inside an IPv4-mapped ({@code ::ffff:a.b.c.d}), IPv4-compatible
	 * ({@code ::a.b.c.d}), NAT64 ({@code 64:ff9b::a.b.c.d}) or 6to4
	 * ({@code 2002:AABB:CCDD::}) IPv6 address, or null.
	 */
	private static byte[] embeddedIpv4(byte[] b) {
		if (allZero(b, 0, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
			return Arrays.copyOfRange(b, 12, 16);
		}
		boolean unspecifiedOrLoopback = allZero(b, 0, 15) && (b[15] == 0 || b[15] == 1);
		if (allZero(b, 0, 12) && !unspecifiedOrLoopback) {
			return Arrays.copyOfRange(b, 12, 16);
		}
		if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b
				&& allZero(b, 4, 12)) {
			return Arrays.copyOfRange(b, 12, 16);
		}
		if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
			return Arrays.copyOfRange(b, 2, 6);
		}
		return null;
	}

	private static InetAddress ipv4(byte[] bytes) {
		try {
			return InetAddress.getByAddress(bytes);
		}
		catch (UnknownHostException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static boolean allZero(byte[] b, int from, int to) {
		for (int i = from; i < to; i++) {
			if (b[i] != 0) {
				return false;
			}
		}
		return true;
	}

	private static boolean isIpLiteral(String value) {
		return IPV4_LITERAL.matcher(value).matches() || value.contains(":");
	}

	private static String unbracket(String host) {
		return (host.startsWith("[") && host.endsWith("]")) ? host.substring(1, host.length() - 1) : host;
	}

	private static String stripTrailingDot(String host) {
		return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
	}

	/** An address range of the allow-list. */
	private record Network(byte[] prefix, int bits) {

		static Network parse(String cidr) {
			String[] parts = cidr.split("/", 2);
			String address = unbracket(parts[0]);
			if (!isIpLiteral(address)) {
				throw new IllegalArgumentException("app.webhooks.allowed-targets: '" + cidr
						+ "' is neither a host name nor an IP address or CIDR range");
			}
			byte[] bytes;
			try {
				// a literal: parsed, never looked up
				bytes = InetAddress.getByName(address).getAddress();
			}
			catch (UnknownHostException ex) {
				throw new IllegalArgumentException("app.webhooks.allowed-targets: '" + cidr + "' is not an IP address",
						ex);
			}
			int bits = bytes.length * 8;
			if (parts.length == 2) {
				try {
					bits = Integer.parseInt(parts[1]);
				}
				catch (NumberFormatException ex) {
					bits = -1;
				}
				if (bits < 0 || bits > bytes.length * 8) {
					throw new IllegalArgumentException(
							"app.webhooks.allowed-targets: '" + cidr + "' has an invalid prefix length");
				}
			}
			return new Network(bytes, bits);
		}

		boolean contains(InetAddress address) {
			byte[] candidate = address.getAddress();
			if (candidate.length != this.prefix.length) {
				return false;
			}
			for (int bit = 0; bit < this.bits; bit++) {
				int mask = 0x80 >>> (bit % 8);
				if ((candidate[bit / 8] & mask) != (this.prefix[bit / 8] & mask)) {
					return false;
				}
			}
			return true;
		}

	}

}
