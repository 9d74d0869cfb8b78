package com.acme.finetune.deploy;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

import static com.acme.finetune.deploy.ManifestChecker.containers;
import static com.acme.finetune.deploy.ManifestChecker.named;
import static com.acme.finetune.deploy.ManifestChecker.ofKind;
import static com.acme.finetune.deploy.ManifestChecker.ofType;
import static com.acme.finetune.deploy.ManifestChecker.podLabels;
import static com.acme.finetune.deploy.ManifestChecker.tree;
import static com.acme.finetune.deploy.ManifestChecker.withRole;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the rendered overlays promise a cluster operator: Pod Security "restricted" on the
 * namespace and pods that pass it, network policies that admit only the Gateway and
 * monitoring and let pods out only to DNS, PostgreSQL and public webhook receivers, a
 * ServiceMonitor for both roles, the api spread over zones and nodes, ephemeral storage
 * requested, and route timeouts that suit SSE and 2 GB uploads.
 */
class ClusterPolicyTests {

	private static final Set<String> PRIVATE_RANGES = Set.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
			"169.254.0.0/16", "127.0.0.0/8");

	private final ManifestChecker checker = new ManifestChecker();

	private List<HasMetadata> render(String overlay) throws Exception {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("overlays/" + overlay,
				KubernetesManifestsTests.kustomize(KubernetesManifestsTests.K8S.resolve("overlays").resolve(overlay)),
				violations);
		assertThat(violations).isEmpty();
		return resources;
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu", "cloudnative-pg" })
	void namespaceEnforcesRestrictedAndThePodsComply(String overlay) throws Exception {
		List<HasMetadata> resources = render(overlay);
		Namespace namespace = ofType(resources, Namespace.class).get(0);
		assertThat(namespace.getMetadata().getLabels())
			.containsEntry("pod-security.kubernetes.io/enforce", "restricted")
			.containsEntry("pod-security.kubernetes.io/warn", "restricted");
		List<Deployment> deployments = ofType(resources, Deployment.class);
		assertThat(deployments).hasSize(2);
		for (Deployment deployment : deployments) {
			assertThat(restrictedViolations(deployment)).as(deployment.getMetadata().getName()).isEmpty();
		}
	}

	@Test
	void restrictedCheckCatchesViolations() {
		List<String> violations = new ArrayList<>();
		Deployment bad = (Deployment) this.checker.parse("bad.yaml", """
				apiVersion: apps/v1
				kind: Deployment
				metadata: {name: bad}
				spec:
				  selector: {matchLabels: {app: x}}
				  template:
				    metadata: {labels: {app: x}}
				    spec:
				      hostNetwork: true
				      securityContext: {runAsUser: 0}
				      containers:
				        - name: app
				          image: x
				          ports: [{containerPort: 8080, hostPort: 8080}]
				          securityContext:
				            privileged: true
				            capabilities: {add: [NET_ADMIN]}
				      volumes:
				        - name: host
				          hostPath: {path: /var/run}
				""", violations).get(0);
		assertThat(violations).isEmpty();
		assertThat(restrictedViolations(bad)).anyMatch((v) -> v.contains("hostNetwork"))
			.anyMatch((v) -> v.contains("runAsNonRoot"))
			.anyMatch((v) -> v.contains("runAsUser 0"))
			.anyMatch((v) -> v.contains("seccompProfile"))
			.anyMatch((v) -> v.contains("allowPrivilegeEscalation"))
			.anyMatch((v) -> v.contains("drop ALL"))
			.anyMatch((v) -> v.contains("NET_ADMIN"))
			.anyMatch((v) -> v.contains("privileged"))
			.anyMatch((v) -> v.contains("hostPort"))
			.anyMatch((v) -> v.contains("volume host"));
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu" })
	void networkAdmitsOnlyTheGatewayAndMonitoring(String overlay) throws Exception {
		List<HasMetadata> resources = render(overlay);
		List<NetworkPolicy> policies = ofType(resources, NetworkPolicy.class);
		Deployment api = deployment(resources, "api");
		Deployment worker = deployment(resources, "worker");
		String gatewayNamespace = ofType(resources, HTTPRoute.class).get(0)
			.getSpec()
			.getParentRefs()
			.get(0)
			.getNamespace();

		// a default deny for both directions over every pod of the namespace
		assertThat(policies).anySatisfy((p) -> {
			assertThat(p.getSpec().getPodSelector().getMatchLabels()).isNullOrEmpty();
			assertThat(p.getSpec().getPodSelector().getMatchExpressions()).isNullOrEmpty();
			assertThat(p.getSpec().getPolicyTypes()).contains("Ingress", "Egress");
			assertThat(p.getSpec().getIngress()).isEmpty();
			assertThat(p.getSpec().getEgress()).isEmpty();
		});
		assertThat(ingressSources(policies, api)).containsExactlyInAnyOrder("namespace " + gatewayNamespace + ":8080",
				"namespace monitoring:8080");
		assertThat(ingressSources(policies, worker)).containsExactly("namespace monitoring:8080");

		String databaseNamespace = databaseHost(resources).split("\\.")[1];
		for (Deployment deployment : List.of(api, worker)) {
			List<String> egress = egressTargets(policies, deployment);
			assertThat(egress).containsExactlyInAnyOrder("namespace kube-system pods {k8s-app=kube-dns}:53/UDP",
					"namespace kube-system pods {k8s-app=kube-dns}:53/TCP",
					"namespace " + databaseNamespace + ":5432/TCP", "public:443/TCP", "public:80/TCP");
		}
		NetworkPolicy webhooks = named(policies, "finetune-webhook-egress");
		assertThat(webhooks.getSpec().getEgress().get(0).getTo().get(0).getIpBlock().getExcept())
			.containsAll(PRIVATE_RANGES);
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu" })
	void serviceMonitorScrapesBothRoles(String overlay) throws Exception {
		List<HasMetadata> resources = render(overlay);
		List<GenericKubernetesResource> monitors = ofKind(resources, "ServiceMonitor");
		assertThat(monitors).hasSize(1);
		JsonNode spec = tree(monitors.get(0)).path("spec");
		Map<String, String> selector = new java.util.TreeMap<>();
		spec.path("selector")
			.path("matchLabels")
			.properties()
			.forEach((e) -> selector.put(e.getKey(), e.getValue().asString()));
		JsonNode endpoint = spec.path("endpoints").get(0);
		assertThat(endpoint.path("path").asString()).isEqualTo("/actuator/prometheus");
		for (String role : List.of("api", "worker")) {
			Deployment deployment = deployment(resources, role);
			Service service = ofType(resources, Service.class).stream()
				.filter((s) -> podLabels(deployment).entrySet().containsAll(s.getSpec().getSelector().entrySet()))
				.findFirst()
				.orElseThrow();
			assertThat(service.getMetadata().getLabels().entrySet()).as(role + " Service selected")
				.containsAll(selector.entrySet());
			assertThat(service.getSpec().getPorts()).as(role + " Service has the scraped port")
				.anyMatch((p) -> endpoint.path("port").asString().equals(p.getName()));
		}
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu" })
	void apiSpreadsOverZonesAndNodes(String overlay) throws Exception {
		Deployment api = deployment(render(overlay), "api");
		List<TopologySpreadConstraint> constraints = api.getSpec()
			.getTemplate()
			.getSpec()
			.getTopologySpreadConstraints();
		assertThat(constraints).extracting(TopologySpreadConstraint::getTopologyKey)
			.containsExactlyInAnyOrder("topology.kubernetes.io/zone", "kubernetes.io/hostname");
		assertThat(constraints).allSatisfy((c) -> {
			assertThat(c.getMaxSkew()).isEqualTo(1);
			assertThat(selects(c.getLabelSelector(), podLabels(api))).isTrue();
		});
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu" })
	void ephemeralStorageIsRequestedAndCoversTheScratchVolumes(String overlay) throws Exception {
		for (Deployment deployment : ofType(render(overlay), Deployment.class)) {
			BigDecimal emptyDirs = BigDecimal.ZERO;
			for (Volume volume : deployment.getSpec().getTemplate().getSpec().getVolumes()) {
				if (volume.getEmptyDir() != null) {
					assertThat(volume.getEmptyDir().getSizeLimit()).as(volume.getName() + " sizeLimit").isNotNull();
					emptyDirs = emptyDirs.add(Quantity.getAmountInBytes(volume.getEmptyDir().getSizeLimit()));
				}
			}
			for (Container container : containers(deployment)) {
				Quantity request = container.getResources().getRequests().get("ephemeral-storage");
				Quantity limit = container.getResources().getLimits().get("ephemeral-storage");
				assertThat(request).as(deployment.getMetadata().getName() + " ephemeral-storage request").isNotNull();
				assertThat(limit).isNotNull();
				assertThat(Quantity.getAmountInBytes(limit)).isGreaterThan(emptyDirs);
			}
		}
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu" })
	void routeTimeoutsSuitEventStreamsAndLargeUploads(String overlay) throws Exception {
		HTTPRoute route = ofType(render(overlay), HTTPRoute.class).get(0);
		// SSE: no timeout at all ("0s" disables it), the stream lasts as long as the job
		assertThat(timeout(rule(route, "GET", "/api/v1/jobs/0b0e2f52-6c4b-4c39-9a3c-1d9e2d4c7a11/events")))
			.isEqualTo(Duration.ZERO);
		// 2 GB at 1 MB/s takes 2048 s
		for (String upload : List.of("/api/v1/datasets", "/api/v1/backbones")) {
			assertThat(timeout(rule(route, "POST", upload))).isGreaterThanOrEqualTo(Duration.ofSeconds(2048));
		}
		// everything else is bounded
		for (String path : List.of("/api/v1/models/x/predictions", "/api/v1/datasets", "/api/v1/jobs:validate",
				"/v3/api-docs")) {
			assertThat(timeout(rule(route, "GET", path))).as(path)
				.isPositive()
				.isLessThanOrEqualTo(Duration.ofMinutes(5));
		}
	}

	@Test
	void overlayDocsShowHowToPinEveryImageByDigest() throws IOException {
		String docs = Files.readString(KubernetesManifestsTests.K8S.resolve("README.md"));
		Set<String> images = new TreeSet<>();
		for (String overlay : List.of("cpu", "gpu")) {
			new tools.jackson.dataformat.yaml.YAMLMapper()
				.readTree(KubernetesManifestsTests.K8S.resolve("overlays")
					.resolve(overlay)
					.resolve("kustomization.yaml")
					.toFile())
				.path("images")
				.forEach((image) -> images.add(image.path("name").asString()));
		}
		assertThat(images).isNotEmpty();
		for (String image : images) {
			assertThat(docs).as(image)
				.containsPattern("(?s)- name: " + image + "\\s+newName: \\S+\\s+digest: sha256:[0-9a-f]{64}");
		}
	}

	/**
	 * Pod Security Standards, "restricted" profile (the checks that apply to a pod spec).
	 */
	static List<String> restrictedViolations(Deployment deployment) {
		List<String> violations = new ArrayList<>();
		PodSpec pod = deployment.getSpec().getTemplate().getSpec();
		PodSecurityContext podContext = (pod.getSecurityContext() != null) ? pod.getSecurityContext()
				: new PodSecurityContext();
		if (Boolean.TRUE.equals(pod.getHostNetwork()) || Boolean.TRUE.equals(pod.getHostPID())
				|| Boolean.TRUE.equals(pod.getHostIPC())) {
			violations.add("hostNetwork/hostPID/hostIPC");
		}
		Set<String> allowedVolumes = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
				"persistentVolumeClaim", "projected", "secret");
		for (Volume volume : pod.getVolumes()) {
			tree(volume).propertyNames()
				.stream()
				.filter((k) -> !k.equals("name") && !allowedVolumes.contains(k))
				.forEach((k) -> violations.add("volume " + volume.getName() + " of type " + k));
		}
		List<Container> all = new ArrayList<>(pod.getContainers());
		all.addAll(pod.getInitContainers());
		for (Container container : all) {
			SecurityContext context = (container.getSecurityContext() != null) ? container.getSecurityContext()
					: new SecurityContext();
			String c = container.getName() + ": ";
			Boolean nonRoot = (context.getRunAsNonRoot() != null) ? context.getRunAsNonRoot()
					: podContext.getRunAsNonRoot();
			if (!Boolean.TRUE.equals(nonRoot)) {
				violations.add(c + "runAsNonRoot is not true");
			}
			Long user = (context.getRunAsUser() != null) ? context.getRunAsUser() : podContext.getRunAsUser();
			if (user != null && user == 0) {
				violations.add(c + "runAsUser 0");
			}
			SeccompProfile seccomp = (context.getSeccompProfile() != null) ? context.getSeccompProfile()
					: podContext.getSeccompProfile();
			if (seccomp == null || !Set.of("RuntimeDefault", "Localhost").contains(seccomp.getType())) {
				violations.add(c + "seccompProfile is not RuntimeDefault or Localhost");
			}
			if (!Boolean.FALSE.equals(context.getAllowPrivilegeEscalation())) {
				violations.add(c + "allowPrivilegeEscalation is not false");
			}
			if (Boolean.TRUE.equals(context.getPrivileged())) {
				violations.add(c + "privileged");
			}
			Capabilities capabilities = context.getCapabilities();
			if (capabilities == null || !capabilities.getDrop().contains("ALL")) {
				violations.add(c + "capabilities do not drop ALL");
			}
			if (capabilities != null) {
				capabilities.getAdd()
					.stream()
					.filter((cap) -> !cap.equals("NET_BIND_SERVICE"))
					.forEach((cap) -> violations.add(c + "adds capability " + cap));
			}
			container.getPorts()
				.stream()
				.filter((p) -> p.getHostPort() != null && p.getHostPort() != 0)
				.forEach((p) -> violations.add(c + "hostPort " + p.getHostPort()));
		}
		return violations;
	}

	/**
	 * "namespace NAME:PORT" or "pods ...:PORT" for every ingress peer admitted to the
	 * pods.
	 */
	private static List<String> ingressSources(List<NetworkPolicy> policies, Deployment deployment) {
		List<String> sources = new ArrayList<>();
		for (NetworkPolicy policy : applying(policies, deployment, "Ingress")) {
			for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
				assertThat(rule.getFrom())
					.as(policy.getMetadata().getName() + ": an ingress rule without 'from' admits everyone")
					.isNotEmpty();
				assertThat(rule.getPorts()).as(policy.getMetadata().getName() + ": ports").isNotEmpty();
				for (NetworkPolicyPeer peer : rule.getFrom()) {
					for (NetworkPolicyPort port : rule.getPorts()) {
						sources.add(peer(peer) + ":" + port.getPort().getIntVal());
					}
				}
			}
		}
		return sources;
	}

	private static List<String> egressTargets(List<NetworkPolicy> policies, Deployment deployment) {
		List<String> targets = new ArrayList<>();
		for (NetworkPolicy policy : applying(policies, deployment, "Egress")) {
			for (NetworkPolicyEgressRule rule : policy.getSpec().getEgress()) {
				assertThat(rule.getTo())
					.as(policy.getMetadata().getName() + ": an egress rule without 'to' allows everywhere")
					.isNotEmpty();
				assertThat(rule.getPorts()).as(policy.getMetadata().getName() + ": ports").isNotEmpty();
				for (NetworkPolicyPeer peer : rule.getTo()) {
					for (NetworkPolicyPort port : rule.getPorts()) {
						targets.add(peer(peer) + ":" + port.getPort().getIntVal() + "/" + port.getProtocol());
					}
				}
			}
		}
		return targets;
	}

	private static String peer(NetworkPolicyPeer peer) {
		if (peer.getIpBlock() != null) {
			boolean publicOnly = "0.0.0.0/0".equals(peer.getIpBlock().getCidr())
					&& peer.getIpBlock().getExcept().containsAll(PRIVATE_RANGES);
			return publicOnly ? "public" : "ipBlock " + peer.getIpBlock().getCidr();
		}
		String text = "";
		if (peer.getNamespaceSelector() != null) {
			assertThat(peer.getNamespaceSelector().getMatchExpressions()).isNullOrEmpty();
			text = "namespace " + peer.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name");
		}
		if (peer.getPodSelector() != null) {
			text += (text.isEmpty() ? "" : " ") + "pods " + peer.getPodSelector().getMatchLabels();
		}
		return text;
	}

	private static List<NetworkPolicy> applying(List<NetworkPolicy> policies, Deployment deployment, String type) {
		return policies.stream()
			.filter((p) -> p.getSpec().getPolicyTypes().contains(type))
			.filter((p) -> selects(p.getSpec().getPodSelector(), podLabels(deployment))
					|| p.getSpec().getPodSelector().getMatchLabels() == null
					|| p.getSpec().getPodSelector().getMatchLabels().isEmpty())
			.toList();
	}

	private static boolean selects(LabelSelector selector, Map<String, String> labels) {
		return selector != null && selector.getMatchLabels() != null
				&& labels.entrySet().containsAll(selector.getMatchLabels().entrySet())
				&& (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty());
	}

	/**
	 * The rule Gateway API precedence picks: the longest matching path prefix, then a
	 * method match.
	 */
	private static HTTPRouteRule rule(HTTPRoute route, String method, String path) {
		record Candidate(HTTPRouteRule rule, int prefix, boolean method) {
		}
		return route.getSpec()
			.getRules()
			.stream()
			.flatMap((rule) -> rule.getMatches().stream().filter((m) -> matches(m, method, path)).map((m) -> {
				return new Candidate(rule, m.getPath().getValue().length(), m.getMethod() != null);
			}))
			.max(Comparator.comparingInt(Candidate::prefix).thenComparing(Candidate::method))
			.map(Candidate::rule)
			.orElseThrow(() -> new AssertionError("no rule for " + method + " " + path));
	}

	private static boolean matches(HTTPRouteMatch match, String method, String path) {
		if (match.getMethod() != null && !match.getMethod().equals(method)) {
			return false;
		}
		String prefix = match.getPath().getValue();
		assertThat(match.getPath().getType()).isEqualTo("PathPrefix");
		return path.equals(prefix) || path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
	}

	private static Duration timeout(HTTPRouteRule rule) {
		assertThat(rule.getTimeouts()).isNotNull();
		String request = rule.getTimeouts().getRequest();
		// Gateway API's duration: up to four <number><unit> parts
		assertThat(request).matches("([0-9]{1,5}(h|m|s|ms)){1,4}");
		Duration total = Duration.ZERO;
		java.util.regex.Matcher part = java.util.regex.Pattern.compile("([0-9]+)(ms|h|m|s)").matcher(request);
		while (part.find()) {
			long n = Long.parseLong(part.group(1));
			total = total.plus(switch (part.group(2)) {
				case "h" -> Duration.ofHours(n);
				case "m" -> Duration.ofMinutes(n);
				case "s" -> Duration.ofSeconds(n);
				default -> Duration.ofMillis(n);
			});
		}
		return total;
	}

	private static String databaseHost(List<HasMetadata> resources) {
		String url = named(ofType(resources, ConfigMap.class), "finetune-config").getData().get("DB_URL");
		return URI.create(url.substring("jdbc:".length())).getHost();
	}

	private static Deployment deployment(List<HasMetadata> resources, String role) {
		return ofType(resources, Deployment.class).stream().filter(withRole(role)).findFirst().orElseThrow();
	}

}
