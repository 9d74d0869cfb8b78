package com.acme.finetune.webhook;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The SSRF policy for webhook targets, one case per class of forbidden target. */
class WebhookTargetsTests {

	/** A resolver with fixed answers, so no test depends on real DNS. */
	private static final Map<String, String> DNS = Map.of("hooks.example.com", "93.184.216.34", "metadata.example.com",
			"169.254.169.254", "intranet.example.com", "10.1.2.3", "v6.example.com", "2606:2800:220:1::1",
			"mixed.example.com", "93.184.216.34,127.0.0.1");

	private final WebhookTargets targets = targets(List.of());

	@ParameterizedTest(name = "{0}: {1}")
	@CsvSource(delimiter = '|', textBlock = """
			loopback                      | http://127.0.0.1/hook
			loopback                      | http://127.8.9.10:8080/hook
			loopback                      | http://[::1]/hook
			link-local (cloud metadata)   | http://169.254.169.254/latest/meta-data/
			link-local (cloud metadata)   | http://[fe80::1]/hook
			private                       | http://10.0.0.1/hook
			private                       | http://172.16.5.4/hook
			private                       | https://192.168.1.1/hook
			private (unique local)        | http://[fd00::1]/hook
			private (unique local)        | http://[fc00::1]/hook
			shared (CGNAT)                | http://100.64.0.1/hook
			shared (CGNAT)                | http://100.127.255.254/hook
			multicast                     | http://224.0.0.1/hook
			multicast                     | http://[ff02::1]/hook
			unspecified                   | http://0.0.0.0/hook
			unspecified                   | http://[::]/hook
			reserved                      | http://255.255.255.255/hook
			loopback                      | http://[::ffff:7f00:1]/hook
			link-local (cloud metadata)   | http://[::ffff:169.254.169.254]/hook
			private (IPv4 inside an IPv6) | http://[64:ff9b::a00:1]/hook
			loopback (IPv4 inside an IPv6) | http://[2002:7f00:1::]/hook
			link-local (cloud metadata)   | http://metadata.example.com/
			private                       | http://intranet.example.com/hook
			loopback                      | http://mixed.example.com/hook
			""")
	void forbiddenAddressesAreRefused(String reason, String url) {
		assertThat(this.targets.violations(url)).singleElement().asString().contains(reason);
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', textBlock = """
			ftp://hooks.example.com/x        | must use http or https
			file:///etc/passwd               | must use http or https
			gopher://hooks.example.com/      | must use http or https
			hooks.example.com/hook           | must use http or https
			http://user:secret@hooks.example.com/ | must not contain user info
			http://@hooks.example.com/       | must not contain user info
			http:///hook                     | has no valid host name
			http://exa mple.com/             | is not a valid URL
			""")
	void malformedOrNonHttpUrlsAreRefused(String url, String message) {
		assertThat(this.targets.violations(url)).singleElement().asString().contains(message);
	}

	@Test
	void anOverlongUrlIsRefused() {
		assertThat(this.targets.violations("https://hooks.example.com/" + "a".repeat(3000))).singleElement()
			.asString()
			.contains("longer than");
	}

	@Test
	void anUnresolvableHostIsRefusedAtSubmission() {
		assertThat(this.targets.violations("https://nowhere.example.com/hook")).singleElement()
			.asString()
			.contains("does not resolve");
	}

	@ParameterizedTest
	@ValueSource(strings = { "https://hooks.example.com/hook?x=1", "http://93.184.216.34:8080/",
			"https://v6.example.com/hook", "HTTPS://HOOKS.EXAMPLE.COM/hook", "http://[2606:2800:220:1::1]/" })
	void publicTargetsAreAllowed(String url) {
		assertThat(this.targets.violations(url)).isEmpty();
	}

	@Test
	void theAllowListAdmitsAddressesRangesAndHostNames() {
		WebhookTargets allowing = targets(
				List.of("127.0.0.1", "10.1.0.0/16", "fd00::/8", "*.internal.example", "intranet.example.com"));
		assertThat(allowing.violations("http://127.0.0.1:9000/hook")).isEmpty();
		assertThat(allowing.violations("http://10.1.200.3/hook")).isEmpty();
		assertThat(allowing.violations("http://[fd12::5]/hook")).isEmpty();
		assertThat(allowing.violations("http://intranet.example.com/hook")).isEmpty();
		// a name on the list is trusted whatever it resolves to; it must resolve though
		assertThat(allowing.violations("http://hooks.internal.example/hook")).isEmpty();
		assertThat(allowing.violations("http://127.0.0.2/hook")).singleElement().asString().contains("loopback");
		assertThat(allowing.violations("http://10.2.0.1/hook")).singleElement().asString().contains("private");
		assertThat(allowing.violations("http://169.254.169.254/")).isNotEmpty();
		// schemes and user info stay refused whatever the list says
		assertThat(allowing.violations("ftp://127.0.0.1/")).isNotEmpty();
		assertThat(allowing.violations("http://u:p@127.0.0.1/")).isNotEmpty();
	}

	@Test
	void aMalformedAllowListStopsTheStart() {
		assertThatIllegalArgumentException().isThrownBy(() -> targets(List.of("10.0.0.0/33")));
		assertThatIllegalArgumentException().isThrownBy(() -> targets(List.of("10.0.0.0/x")));
	}

	@Test
	void deliveryResolutionRefusesANameThatNowResolvesToLoopback() throws Exception {
		// the first answer (at submission) is public, the next (at delivery) is not
		int[] lookups = { 0 };
		WebhookTargets rebinding = new WebhookTargets(List.of(), (host) -> new InetAddress[] {
				InetAddress.getByName((lookups[0]++ == 0) ? "93.184.216.34" : "127.0.0.1") });
		assertThat(rebinding.violations("http://rebind.example.com/hook")).isEmpty();
		assertThatThrownBy(() -> rebinding.resolve("rebind.example.com")).isInstanceOf(WebhookRefusedException.class)
			.hasMessageContaining("resolves to 127.0.0.1, a loopback address");
	}

	static WebhookTargets targets(List<String> allowList) {
		return new WebhookTargets(allowList, (host) -> {
			String name = host.toLowerCase(java.util.Locale.ROOT);
			if (DNS.containsKey(name)) {
				String[] answers = DNS.get(name).split(",");
				InetAddress[] addresses = new InetAddress[answers.length];
				for (int i = 0; i < answers.length; i++) {
					addresses[i] = InetAddress.getByName(answers[i]);
				}
				return addresses;
			}
			if (name.endsWith(".internal.example")) {
				return new InetAddress[] { InetAddress.getByName("10.9.9.9") };
			}
			if (name.matches("[0-9.]+") || name.contains(":")) {
				// literals are parsed, never looked up
				return InetAddress.getAllByName(name);
			}
			throw new UnknownHostException(name);
		});
	}

}
