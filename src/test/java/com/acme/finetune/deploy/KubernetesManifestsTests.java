package com.acme.finetune.deploy;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import static com.acme.finetune.deploy.ManifestChecker.containers;
import static com.acme.finetune.deploy.ManifestChecker.env;
import static com.acme.finetune.deploy.ManifestChecker.named;
import static com.acme.finetune.deploy.ManifestChecker.ofKind;
import static com.acme.finetune.deploy.ManifestChecker.tree;
import static com.acme.finetune.deploy.ManifestChecker.ofType;
import static com.acme.finetune.deploy.ManifestChecker.withRole;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The manifests under {@code k8s/} parse into the real Kubernetes model (fabric8) with no
 * unknown field, and fit together and with the application: ports, actuator probes, env
 * references, env names the application reads, selectors, volumes, routes. The overlays
 * are rendered with {@code kubectl kustomize} where kubectl is installed, so the objects
 * a cluster would receive are checked too; without it the patches are still parsed and
 * checked for what they are meant to do.
 */
class KubernetesManifestsTests {

	static final Path K8S = Path.of("k8s");

	/** Read by the JVM, DJL, libtorch or the role switch rather than application.yml. */
	private static final Set<String> RUNTIME_ENV = Set.of("APP_ROLES", "OPT_OUT_TRACKING", "OMP_NUM_THREADS",
			"JAVA_TOOL_OPTIONS", "GLIBC_TUNABLES", "ENGINE_CACHE_DIR", "PYTORCH_LIBRARY_PATH", "PYTORCH_VERSION",
			"PYTORCH_FLAVOR", "SPRING_PROFILES_ACTIVE");

	private static final Set<String> KUSTOMIZATION_KEYS = Set.of("apiVersion", "kind", "namespace", "labels",
			"resources", "patches", "images", "configMapGenerator", "secretGenerator", "replicas", "components",
			"generatorOptions", "namePrefix", "nameSuffix");

	private final ManifestChecker checker = new ManifestChecker();

	/**
	 * Env names the application understands: its ${NAME} placeholders plus runtime ones.
	 */
	static Set<String> knownEnv() throws IOException {
		Set<String> names = new TreeSet<>(RUNTIME_ENV);
		Matcher matcher = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)[:}]")
			.matcher(Files.readString(Path.of("src/main/resources/application.yml")));
		while (matcher.find()) {
			names.add(matcher.group(1));
		}
		return names;
	}

	@Test
	void applicationReadsTheVariablesTheManifestsSet() throws IOException {
		assertThat(knownEnv()).contains("DB_URL", "DB_USER", "DB_PASSWORD", "ARTIFACT_ROOT", "DJL_CACHE_DIR",
				"DJL_OFFLINE", "API_KEYS", "LOG_FORMAT", "PORT");
	}

	@Test
	void everyManifestParsesStrictly() throws IOException {
		List<String> violations = new ArrayList<>();
		int objects = 0;
		for (Path file : yamlFiles()) {
			if (isKustomization(file)) {
				continue;
			}
			objects += this.checker.parse(file.toString(), Files.readString(file), violations).size();
		}
		assertThat(violations).isEmpty();
		assertThat(objects).isGreaterThanOrEqualTo(13);
	}

	@Test
	void kustomizationsReferenceWhatExists() throws IOException {
		YAMLMapper yaml = new YAMLMapper();
		List<String> violations = new ArrayList<>();
		for (Path file : yamlFiles()) {
			if (!isKustomization(file)) {
				continue;
			}
			JsonNode root = yaml.readTree(file.toFile());
			root.propertyNames().forEach((key) -> {
				if (!KUSTOMIZATION_KEYS.contains(key)) {
					violations.add(file + ": unexpected key " + key);
				}
			});
			if (!"Kustomization".equals(root.path("kind").asString())) {
				violations.add(file + ": kind is not Kustomization");
			}
			for (JsonNode resource : root.path("resources")) {
				Path target = file.getParent().resolve(resource.asString()).normalize();
				if (!Files.isRegularFile(target) && !Files.isRegularFile(target.resolve("kustomization.yaml"))) {
					violations.add(file + ": resource " + resource.asString() + " does not exist");
				}
			}
			for (JsonNode patch : root.path("patches")) {
				if (patch.has("patch")) {
					continue;
				}
				if (!Files.isRegularFile(file.getParent().resolve(patch.path("path").asString()))) {
					violations.add(file + ": patch " + patch.path("path").asString() + " does not exist");
				}
			}
		}
		assertThat(violations).isEmpty();
	}

	@Test
	void baseIsWiredTogether() throws IOException {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> base = baseResources(violations);
		this.checker.checkWiring("base", base, knownEnv(), violations);
		assertThat(violations).isEmpty();
		List<Deployment> deployments = ofType(base, Deployment.class);
		assertThat(deployments.stream().filter(withRole("api"))).hasSize(1);
		assertThat(deployments.stream().filter(withRole("worker"))).hasSize(1);
		assertThat(deployments).allSatisfy((d) -> assertThat(containers(d))
			.allSatisfy((c) -> assertThat(c.getResources().getLimits()).doesNotContainKey("nvidia.com/gpu")));
	}

	/**
	 * Without rendering: the GPU patch targets the base worker and asks for what it
	 * should.
	 */
	@Test
	void gpuPatchPutsTheWorkerOnAGpu() throws IOException {
		List<String> violations = new ArrayList<>();
		Path patchFile = K8S.resolve("overlays/gpu/worker-gpu.yaml");
		List<HasMetadata> patch = this.checker.parse(patchFile.toString(), Files.readString(patchFile), violations);
		assertThat(violations).isEmpty();
		Deployment gpu = (Deployment) patch.get(0);
		Deployment worker = ofType(baseResources(violations), Deployment.class).stream()
			.filter(withRole("worker"))
			.findFirst()
			.orElseThrow();
		assertThat(gpu.getMetadata().getName()).isEqualTo(worker.getMetadata().getName());
		// same container name, or the strategic merge would add a second container
		assertThat(containers(gpu)).extracting(Container::getName)
			.containsExactlyElementsOf(containers(worker).stream().map(Container::getName).toList());
		assertGpuWorker(gpu);
	}

	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu", "cloudnative-pg" })
	void renderedOverlaysAreWiredTogether(String overlay) throws Exception {
		String rendered = kustomize(K8S.resolve("overlays").resolve(overlay));
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("overlays/" + overlay, rendered, violations);
		this.checker.checkWiring("overlays/" + overlay, resources, knownEnv(), violations);
		assertThat(violations).isEmpty();
		List<Deployment> deployments = ofType(resources, Deployment.class);
		Deployment api = deployments.stream().filter(withRole("api")).findFirst().orElseThrow();
		Deployment worker = deployments.stream().filter(withRole("worker")).findFirst().orElseThrow();
		assertThat(resources).allSatisfy((r) -> assertThat(r.getMetadata().getNamespace()).isIn("finetune", null));
		for (Deployment deployment : deployments) {
			// every image was given a registry and a tag by the overlay
			assertThat(containers(deployment)).allSatisfy((c) -> assertThat(c.getImage()).matches(".+/.+:.+"));
		}
		assertThat(containers(api).get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
		if (overlay.equals("gpu")) {
			assertGpuWorker(worker);
			assertThat(containers(worker).get(0).getImage()).endsWith("-gpu");
			assertThat(containers(api).get(0).getImage()).doesNotEndWith("-gpu");
			assertThat(env(containers(worker).get(0))).containsEntry("DJL_OFFLINE", "true")
				.containsEntry("DJL_CACHE_DIR", "/opt/djl-cache");
		}
		else {
			assertThat(containers(worker).get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
			assertThat(worker.getSpec().getTemplate().getSpec().getTolerations()).isEmpty();
		}
	}

	/**
	 * KEDA scales the workers from the queue in PostgreSQL: the same server and database
	 * as the application's DB_URL, the credentials from the application's Secret, CPU
	 * workers down to zero, GPU workers capped; the api keeps its CPU HPA.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "cpu", "gpu", "cloudnative-pg" })
	void workersScaleWithTheJobQueue(String overlay) throws Exception {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("overlays/" + overlay,
				kustomize(K8S.resolve("overlays").resolve(overlay)), violations);
		assertThat(violations).isEmpty();
		List<Deployment> deployments = ofType(resources, Deployment.class);
		Deployment worker = deployments.stream().filter(withRole("worker")).findFirst().orElseThrow();
		Deployment api = deployments.stream().filter(withRole("api")).findFirst().orElseThrow();

		List<GenericKubernetesResource> scaledObjects = ofKind(resources, "ScaledObject");
		assertThat(scaledObjects).hasSize(1);
		JsonNode spec = tree(scaledObjects.get(0)).path("spec");
		assertThat(spec.path("scaleTargetRef").path("name").asString()).isEqualTo(worker.getMetadata().getName());
		assertThat(worker.getSpec().getReplicas()).isNull();
		if (!overlay.equals("gpu")) {
			assertThat(spec.path("minReplicaCount").asInt(-1)).isZero();
		}
		else {
			assertThat(spec.path("minReplicaCount").asInt(-1)).isPositive();
			assertThat(spec.path("maxReplicaCount").asInt()).isBetween(1, 4);
		}
		assertThat(spec.path("maxReplicaCount").asInt()).isGreaterThanOrEqualTo(spec.path("minReplicaCount").asInt());

		JsonNode trigger = spec.path("triggers").get(0);
		assertThat(trigger.path("type").asString()).isEqualTo("postgresql");
		JsonNode metadata = trigger.path("metadata");
		URI db = URI.create(named(ofType(resources, ConfigMap.class), "finetune-config").getData()
			.get("DB_URL")
			.substring("jdbc:".length()));
		assertThat(metadata.path("host").asString()).isEqualTo(db.getHost());
		assertThat(metadata.path("port").asString()).isEqualTo(String.valueOf(db.getPort()));
		assertThat("/" + metadata.path("dbName").asString()).isEqualTo(db.getPath());
		assertThat(metadata.path("query").asString()).contains("FROM jobs").contains("'QUEUED'").contains("'RUNNING'");
		assertThat(metadata.path("targetQueryValue").asString())
			.isEqualTo(env(containers(worker).get(0)).getOrDefault("MAX_CONCURRENT_JOBS", "1"));

		GenericKubernetesResource auth = named(ofKind(resources, "TriggerAuthentication"),
				trigger.path("authenticationRef").path("name").asString());
		Map<String, String> fromSecret = new java.util.TreeMap<>();
		tree(auth).path("spec")
			.path("secretTargetRef")
			.forEach((ref) -> fromSecret.put(ref.path("parameter").asString(),
					ref.path("name").asString() + "/" + ref.path("key").asString()));
		// the same Secret keys the application connects with
		assertThat(fromSecret).containsEntry("userName", secretRef(containers(worker).get(0), "DB_USER"))
			.containsEntry("password", secretRef(containers(worker).get(0), "DB_PASSWORD"));

		List<HorizontalPodAutoscaler> hpas = ofType(resources, HorizontalPodAutoscaler.class);
		assertThat(hpas).singleElement()
			.satisfies((hpa) -> assertThat(hpa.getSpec().getScaleTargetRef().getName())
				.isEqualTo(api.getMetadata().getName()));
	}

	/**
	 * The CloudNativePG overlay: the application, KEDA and the Cluster agree on the
	 * database, its read-write Service and the credentials Secret; the network admits the
	 * application to the database pods.
	 */
	@Test
	void cloudNativePgOverlayWiresTheClusterToTheApplication() throws Exception {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("overlays/cloudnative-pg",
				kustomize(K8S.resolve("overlays/cloudnative-pg")), violations);
		assertThat(violations).isEmpty();
		List<GenericKubernetesResource> clusters = ofKind(resources, "Cluster");
		assertThat(clusters).hasSize(1);
		String cluster = clusters.get(0).getMetadata().getName();
		JsonNode initdb = tree(clusters.get(0)).path("spec").path("bootstrap").path("initdb");
		String secretName = initdb.path("secret").path("name").asString();
		io.fabric8.kubernetes.api.model.Secret secret = named(
				ofType(resources, io.fabric8.kubernetes.api.model.Secret.class), secretName);
		assertThat(secret.getType()).isEqualTo("kubernetes.io/basic-auth");
		assertThat(secret.getStringData()).containsKeys("username", "password")
			.containsEntry("username", initdb.path("owner").asString());

		URI db = URI.create(named(ofType(resources, ConfigMap.class), "finetune-config").getData()
			.get("DB_URL")
			.substring("jdbc:".length()));
		assertThat(db.getHost()).isEqualTo(cluster + "-rw.finetune.svc.cluster.local");
		assertThat(db.getPath()).isEqualTo("/" + initdb.path("database").asString());
		for (Deployment deployment : ofType(resources, Deployment.class)) {
			Container app = containers(deployment).get(0);
			assertThat(secretRef(app, "DB_USER")).isEqualTo(secretName + "/username");
			assertThat(secretRef(app, "DB_PASSWORD")).isEqualTo(secretName + "/password");
		}
		JsonNode trigger = tree(ofKind(resources, "ScaledObject").get(0)).path("spec").path("triggers").get(0);
		assertThat(trigger.path("metadata").path("host").asString()).isEqualTo(db.getHost());

		var egress = named(ofType(resources, io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class),
				"finetune-egress");
		assertThat(egress.getSpec().getEgress()).anySatisfy((rule) -> {
			assertThat(rule.getTo()).singleElement()
				.satisfies((peer) -> assertThat(peer.getPodSelector().getMatchLabels()).containsEntry("cnpg.io/cluster",
						cluster));
			assertThat(rule.getPorts()).singleElement()
				.satisfies((port) -> assertThat(port.getPort().getIntVal()).isEqualTo(db.getPort()));
		});
		var dbPolicy = ofType(resources, io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class).stream()
			.filter((p) -> cluster.equals(p.getSpec().getPodSelector().getMatchLabels().get("cnpg.io/cluster")))
			.findFirst()
			.orElseThrow();
		assertThat(dbPolicy.getSpec().getIngress()).anySatisfy((rule) -> {
			assertThat(rule.getFrom()).anySatisfy((peer) -> assertThat(peer.getPodSelector()).isNotNull()
				.satisfies((pods) -> assertThat(pods.getMatchLabels()).containsEntry("app.kubernetes.io/name",
						"finetune")));
			assertThat(rule.getFrom()).anySatisfy((peer) -> assertThat(peer.getNamespaceSelector()).isNotNull()
				.satisfies((namespaces) -> assertThat(namespaces.getMatchLabels())
					.containsEntry("kubernetes.io/metadata.name", "keda")));
		});
	}

	private static String secretRef(Container container, String env) {
		var ref = container.getEnv()
			.stream()
			.filter((e) -> e.getName().equals(env))
			.findFirst()
			.orElseThrow()
			.getValueFrom()
			.getSecretKeyRef();
		return ref.getName() + "/" + ref.getKey();
	}

	@Test
	void crdSchemasCatchMistakes() {
		List<String> violations = new ArrayList<>();
		this.checker.parse("keda.yaml", """
				apiVersion: keda.sh/v1alpha1
				kind: ScaledObject
				metadata: {name: broken}
				spec:
				  minReplicas: 0
				  maxReplicaCount: many
				  triggers:
				    - type: postgresql
				      metadata: {targetQueryValue: 1, query: x}
				---
				apiVersion: keda.sh/v1alpha1
				kind: TriggerAuthentication
				metadata: {name: broken}
				spec:
				  secretTargetRef:
				    - {parameter: password, name: finetune-secrets}
				""", violations);
		assertThat(violations).anySatisfy((v) -> assertThat(v).contains("ScaledObject/broken").contains("minReplicas"))
			.anySatisfy((v) -> assertThat(v).contains("maxReplicaCount"))
			.anySatisfy((v) -> assertThat(v).contains("scaleTargetRef"))
			.anySatisfy((v) -> assertThat(v).contains("targetQueryValue"))
			.anySatisfy((v) -> assertThat(v).contains("TriggerAuthentication/broken").contains("key"));
	}

	@Test
	void scaledObjectWiringCatchesMistakes() throws IOException {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("miswired-keda.yaml", """
				apiVersion: apps/v1
				kind: Deployment
				metadata: {name: worker}
				spec:
				  replicas: 1
				  selector: {matchLabels: {app: x}}
				  template:
				    metadata: {labels: {app: x}}
				    spec:
				      containers: [{name: app, image: x}]
				---
				apiVersion: keda.sh/v1alpha1
				kind: ScaledObject
				metadata: {name: worker}
				spec:
				  scaleTargetRef: {name: worker}
				  triggers:
				    - type: postgresql
				      metadata: {query: x, targetQueryValue: "1"}
				      authenticationRef: {name: missing}
				---
				apiVersion: keda.sh/v1alpha1
				kind: ScaledObject
				metadata: {name: elsewhere}
				spec:
				  scaleTargetRef: {name: nothing}
				  triggers: [{type: cpu, metricType: Utilization, metadata: {value: "50"}}]
				---
				apiVersion: keda.sh/v1alpha1
				kind: TriggerAuthentication
				metadata: {name: auth}
				spec:
				  secretTargetRef:
				    - {parameter: password, name: nosuch, key: DB_PASSWORD}
				""", violations);
		assertThat(violations).isEmpty();
		this.checker.checkWiring("miswired-keda", resources, knownEnv(), violations);
		assertThat(violations).anyMatch((v) -> v.contains("ScaledObject/worker") && v.contains("sets replicas"))
			.anyMatch((v) -> v.contains("TriggerAuthentication missing is not defined"))
			.anyMatch((v) -> v.contains("ScaledObject/elsewhere") && v.contains("not a Deployment here"))
			.anyMatch((v) -> v.contains("Secret nosuch has no key DB_PASSWORD"));
	}

	@Test
	void strictParsingCatchesMistakes() {
		List<String> violations = new ArrayList<>();
		String typo = """
				apiVersion: apps/v1
				kind: Deployment
				metadata:
				  name: broken
				spec:
				  selector:
				    matchLabels: {app: x}
				  template:
				    metadata:
				      labels: {app: x}
				    spec:
				      containers:
				        - name: app
				          image: x
				          readinesProbe:
				            httpGet: {path: /actuator/health/readiness, port: 8080}
				---
				apiVersion: v1
				kind: Servce
				metadata:
				  name: typo-kind
				""";
		this.checker.parse("typo.yaml", typo, violations);
		assertThat(violations).anySatisfy((v) -> assertThat(v).contains("containers[0]").contains("readinesProbe"));
		assertThat(violations).anySatisfy((v) -> assertThat(v).contains("unknown kind v1/Servce"));
	}

	@Test
	void wiringChecksCatchMistakes() throws IOException {
		List<String> violations = new ArrayList<>();
		List<HasMetadata> resources = this.checker.parse("miswired.yaml", """
				apiVersion: apps/v1
				kind: Deployment
				metadata: {name: app}
				spec:
				  selector: {matchLabels: {app: x}}
				  template:
				    metadata: {labels: {app: x}}
				    spec:
				      containers:
				        - name: app
				          image: x
				          ports: [{name: http, containerPort: 8080}]
				          env:
				            - {name: DATABASE_URL, value: x}
				            - name: DB_PASSWORD
				              valueFrom: {secretKeyRef: {name: missing, key: DB_PASSWORD}}
				          livenessProbe: {httpGet: {path: /health, port: http}}
				          readinessProbe: {httpGet: {path: /actuator/health/readiness, port: 9090}}
				          resources:
				            requests: {cpu: "1", memory: 1Gi}
				            limits: {memory: 2Gi}
				---
				apiVersion: v1
				kind: Service
				metadata: {name: app}
				spec:
				  selector: {app: x}
				  ports: [{name: http, port: 80, targetPort: 8081}]
				""", violations);
		this.checker.checkWiring("miswired", resources, knownEnv(), violations);
		assertThat(violations).anyMatch((v) -> v.contains("DATABASE_URL") && v.contains("not a variable"))
			.anyMatch((v) -> v.contains("Secret missing has no key DB_PASSWORD"))
			.anyMatch((v) -> v.contains("livenessProbe") && v.contains("/actuator/health/liveness"))
			.anyMatch((v) -> v.contains("readinessProbe") && v.contains("port 9090"))
			.anyMatch((v) -> v.contains("targetPort 8081"))
			.anyMatch((v) -> v.contains("no preStop sleep"))
			.anyMatch((v) -> v.contains("leaves under 3 GiB"));
	}

	private static void assertGpuWorker(Deployment worker) {
		Container container = containers(worker).get(0);
		assertThat(container.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
		var pod = worker.getSpec().getTemplate().getSpec();
		assertThat(pod.getTolerations()).anySatisfy((t) -> assertThat(t.getKey()).isEqualTo("nvidia.com/gpu"));
		assertThat(pod.getNodeSelector()).isNotEmpty();
	}

	/** The base's resources, in kustomization order. */
	private List<HasMetadata> baseResources(List<String> violations) throws IOException {
		List<HasMetadata> resources = new ArrayList<>();
		Path base = K8S.resolve("base");
		for (JsonNode resource : new YAMLMapper().readTree(base.resolve("kustomization.yaml").toFile())
			.path("resources")) {
			Path file = base.resolve(resource.asString());
			resources.addAll(this.checker.parse(file.toString(), Files.readString(file), violations));
		}
		return resources;
	}

	private static List<Path> yamlFiles() throws IOException {
		try (Stream<Path> files = Files.walk(K8S)) {
			return files.filter((f) -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
				.sorted()
				.toList();
		}
	}

	private static boolean isKustomization(Path file) {
		return file.getFileName().toString().startsWith("kustomization.");
	}

	/**
	 * Renders an overlay with kubectl's built-in kustomize; skips where kubectl is
	 * absent.
	 */
	static String kustomize(Path overlay) throws Exception {
		Process process;
		try {
			process = new ProcessBuilder("kubectl", "kustomize", overlay.toString()).redirectErrorStream(false).start();
		}
		catch (IOException ex) {
			assumeTrue(false, "kubectl is not installed; overlays are checked through their patches only");
			throw ex;
		}
		byte[] out = process.getInputStream().readAllBytes();
		String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl kustomize finished").isTrue();
		assertThat(process.exitValue()).as("kubectl kustomize %s: %s", overlay, err).isZero();
		return new String(out, StandardCharsets.UTF_8);
	}

}
