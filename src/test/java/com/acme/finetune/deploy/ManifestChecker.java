package com.acme.finetune.deploy;

import java.beans.IntrospectionException;
import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Parses Kubernetes manifests into fabric8's model classes and reports every problem as a
 * readable line. Strict twice over: Jackson fails on unknown properties where a class has
 * no catch-all, and because fabric8's model classes do have one (an
 * {@code additionalProperties} map that swallows unknown fields, so that
 * {@code FAIL_ON_UNKNOWN_PROPERTIES} alone changes nothing), every object in the parsed
 * tree is walked and any non-empty {@code additionalProperties} is a violation. A kind
 * the model does not know (a typo in {@code kind} or {@code apiVersion}) parses as a
 * {@link GenericKubernetesResource}, which is refused as well, unless it is a custom
 * resource whose CRD schema is kept in the repository ({@link CrdSchemas}): then it is
 * validated against that schema.
 */
final class ManifestChecker {

	static final int APP_PORT = 8080;

	static final String LIVENESS = "/actuator/health/liveness";

	static final String READINESS = "/actuator/health/readiness";

	private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

	private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization(
			JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build(), true);

	private static final JsonMapper JSON = JsonMapper.builder().build();

	private final KubernetesSerialization serialization = SERIALIZATION;

	private final CrdSchemas crds = new CrdSchemas();

	/** Parses every document of a YAML stream; problems go to {@code violations}. */
	List<HasMetadata> parse(String source, String yaml, List<String> violations) {
		List<HasMetadata> resources = new ArrayList<>();
		for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
			if (document.lines().allMatch((line) -> line.isBlank() || line.strip().startsWith("#"))) {
				continue;
			}
			KubernetesResource resource;
			try {
				resource = this.serialization.unmarshal(document, KubernetesResource.class);
			}
			catch (RuntimeException ex) {
				violations.add(source + ": does not parse: " + ex.getMessage());
				continue;
			}
			if (resource instanceof GenericKubernetesResource generic) {
				if (!this.crds.knows(generic.getApiVersion(), generic.getKind())) {
					violations.add(source + ": unknown kind " + generic.getApiVersion() + "/" + generic.getKind());
					continue;
				}
				violations.addAll(this.crds.validate(
						source + " " + generic.getKind() + "/"
								+ ((generic.getMetadata() != null) ? generic.getMetadata().getName() : "?"),
						tree(generic)));
				resources.add(generic);
				continue;
			}
			if (!(resource instanceof HasMetadata object)) {
				violations.add(source + ": not a Kubernetes object: " + resource.getClass().getSimpleName());
				continue;
			}
			String name = source + " " + object.getKind() + "/" + object.getMetadata().getName();
			unknownFields(object, name, violations, new IdentityHashMap<>());
			resources.add(object);
		}
		return resources;
	}

	/** Reports non-empty additionalProperties anywhere under {@code value}. */
	private static void unknownFields(Object value, String path, List<String> violations, Map<Object, Boolean> seen) {
		if (value == null || seen.put(value, Boolean.TRUE) != null) {
			return;
		}
		if (value instanceof Collection<?> collection) {
			int i = 0;
			for (Object element : collection) {
				unknownFields(element, path + "[" + i++ + "]", violations, seen);
			}
			return;
		}
		if (value instanceof Map<?, ?> map) {
			map.forEach((key, element) -> unknownFields(element, path + "." + key, violations, seen));
			return;
		}
		if (!value.getClass().getName().startsWith("io.fabric8.")) {
			return;
		}
		try {
			for (PropertyDescriptor property : Introspector.getBeanInfo(value.getClass(), Object.class)
				.getPropertyDescriptors()) {
				Method getter = property.getReadMethod();
				if (getter == null || getter.getParameterCount() != 0) {
					continue;
				}
				Object child = getter.invoke(value);
				if ("additionalProperties".equals(property.getName())) {
					if (child instanceof Map<?, ?> extra && !extra.isEmpty()) {
						violations.add(path + ": unknown field(s) " + extra.keySet());
					}
				}
				else {
					unknownFields(child, path + "." + property.getName(), violations, seen);
				}
			}
		}
		catch (IntrospectionException | IllegalAccessException | InvocationTargetException ex) {
			violations.add(path + ": cannot inspect " + value.getClass().getName() + ": " + ex);
		}
	}

	/**
	 * Checks that a complete set of objects (the base, or a rendered overlay) is wired
	 * together: ports, probes, env references, selectors, volumes, routes.
	 */
	void checkWiring(String source, List<HasMetadata> resources, Set<String> knownEnv, List<String> violations) {
		List<Deployment> deployments = ofType(resources, Deployment.class);
		if (deployments.isEmpty()) {
			violations.add(source + ": no Deployment");
		}
		for (Deployment deployment : deployments) {
			checkDeployment(source, deployment, resources, knownEnv, violations);
		}
		for (Service service : ofType(resources, Service.class)) {
			checkService(source, service, deployments, violations);
		}
		for (HorizontalPodAutoscaler hpa : ofType(resources, HorizontalPodAutoscaler.class)) {
			String target = hpa.getSpec().getScaleTargetRef().getName();
			Deployment deployment = named(deployments, target);
			String where = source + " HPA/" + hpa.getMetadata().getName();
			if (deployment == null || !"Deployment".equals(hpa.getSpec().getScaleTargetRef().getKind())) {
				violations.add(where + ": scales " + target + ", not a Deployment here");
				continue;
			}
			boolean onCpu = hpa.getSpec()
				.getMetrics()
				.stream()
				.anyMatch((m) -> m.getResource() != null && "cpu".equals(m.getResource().getName()));
			boolean cpuRequested = containers(deployment).stream().allMatch((c) -> requests(c).containsKey("cpu"));
			if (!onCpu || !cpuRequested) {
				violations.add(where + ": CPU utilisation needs a cpu metric and cpu requests on every container");
			}
		}
		checkScaledObjects(source, resources, deployments, violations);
		for (PodDisruptionBudget pdb : ofType(resources, PodDisruptionBudget.class)) {
			if (deployments.stream().noneMatch((d) -> selects(pdb.getSpec().getSelector(), podLabels(d)))) {
				violations.add(source + " PDB/" + pdb.getMetadata().getName() + ": selects no Deployment's pods");
			}
		}
		for (HTTPRoute route : ofType(resources, HTTPRoute.class)) {
			route.getSpec().getRules().forEach((rule) -> {
				for (HTTPBackendRef ref : rule.getBackendRefs()) {
					Service service = named(ofType(resources, Service.class), ref.getName());
					if (service == null || service.getSpec()
						.getPorts()
						.stream()
						.noneMatch((p) -> Objects.equals(p.getPort(), ref.getPort()))) {
						violations.add(source + " HTTPRoute/" + route.getMetadata().getName() + ": backend "
								+ ref.getName() + ":" + ref.getPort() + " is not a Service port here");
					}
				}
			});
		}
	}

	/**
	 * KEDA: each ScaledObject scales a Deployment defined here that no HPA also scales
	 * and that sets no replica count of its own (apply would fight the autoscaler); its
	 * TriggerAuthentications exist and read Secret keys that exist.
	 */
	private static void checkScaledObjects(String source, List<HasMetadata> resources, List<Deployment> deployments,
			List<String> violations) {
		List<GenericKubernetesResource> auths = ofKind(resources, "TriggerAuthentication");
		for (GenericKubernetesResource scaledObject : ofKind(resources, "ScaledObject")) {
			String where = source + " ScaledObject/" + scaledObject.getMetadata().getName();
			JsonNode spec = tree(scaledObject).path("spec");
			String target = spec.path("scaleTargetRef").path("name").asString();
			Deployment deployment = named(deployments, target);
			if (deployment == null
					|| !"Deployment".equals(spec.path("scaleTargetRef").path("kind").asString("Deployment"))) {
				violations.add(where + ": scales " + target + ", not a Deployment here");
			}
			else if (deployment.getSpec().getReplicas() != null) {
				violations.add(where + ": Deployment " + target + " sets replicas, which every apply would reset");
			}
			if (ofType(resources, HorizontalPodAutoscaler.class).stream()
				.anyMatch((hpa) -> target.equals(hpa.getSpec().getScaleTargetRef().getName()))) {
				violations.add(where + ": " + target + " is also scaled by an HPA");
			}
			for (JsonNode trigger : spec.path("triggers")) {
				String auth = trigger.path("authenticationRef").path("name").asString("");
				if (!auth.isEmpty() && auths.stream().noneMatch((a) -> auth.equals(a.getMetadata().getName()))) {
					violations.add(where + ": TriggerAuthentication " + auth + " is not defined");
				}
			}
		}
		for (GenericKubernetesResource auth : auths) {
			String where = source + " TriggerAuthentication/" + auth.getMetadata().getName();
			for (JsonNode ref : tree(auth).path("spec").path("secretTargetRef")) {
				Secret secret = named(ofType(resources, Secret.class), ref.path("name").asString());
				String key = ref.path("key").asString();
				boolean has = secret != null && ((secret.getData() != null && secret.getData().containsKey(key))
						|| (secret.getStringData() != null && secret.getStringData().containsKey(key)));
				if (!has) {
					violations.add(where + ": Secret " + ref.path("name").asString() + " has no key " + key);
				}
			}
		}
	}

	private void checkDeployment(String source, Deployment deployment, List<HasMetadata> resources,
			Set<String> knownEnv, List<String> violations) {
		String where = source + " Deployment/" + deployment.getMetadata().getName();
		if (!selects(deployment.getSpec().getSelector(), podLabels(deployment))) {
			violations.add(where + ": selector does not match its pod template labels");
		}
		Set<String> volumes = new HashSet<>();
		for (Volume volume : deployment.getSpec().getTemplate().getSpec().getVolumes()) {
			volumes.add(volume.getName());
			if (volume.getPersistentVolumeClaim() != null) {
				String claim = volume.getPersistentVolumeClaim().getClaimName();
				PersistentVolumeClaim pvc = named(ofType(resources, PersistentVolumeClaim.class), claim);
				if (pvc == null) {
					violations.add(where + ": PVC " + claim + " is not defined");
				}
				else if (!pvc.getSpec().getAccessModes().contains("ReadWriteMany")) {
					violations.add(where + ": PVC " + claim + " must be ReadWriteMany (api and workers share it)");
				}
			}
		}
		Long grace = deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
		for (Container container : containers(deployment)) {
			String c = where + " container " + container.getName();
			if (container.getPorts().stream().noneMatch((p) -> p.getContainerPort() == APP_PORT)) {
				violations.add(c + ": does not expose the application port " + APP_PORT);
			}
			checkProbe(c + " livenessProbe", container.getLivenessProbe(), LIVENESS, container, violations);
			checkProbe(c + " readinessProbe", container.getReadinessProbe(), READINESS, container, violations);
			if (container.getStartupProbe() != null) {
				checkProbe(c + " startupProbe", container.getStartupProbe(), LIVENESS, container, violations);
			}
			Long preStop = preStopSeconds(container);
			if (preStop == null) {
				violations.add(c + ": no preStop sleep (endpoints need time to stop routing here)");
			}
			else if (grace == null || grace <= preStop) {
				violations.add(c + ": terminationGracePeriodSeconds must exceed the preStop sleep");
			}
			for (VolumeMount mount : container.getVolumeMounts()) {
				if (!volumes.contains(mount.getName())) {
					violations.add(c + ": mounts undefined volume " + mount.getName());
				}
			}
			checkEnv(c, container, resources, knownEnv, violations);
			checkResources(c, container, violations);
		}
	}

	private static void checkProbe(String where, Probe probe, String path, Container container,
			List<String> violations) {
		if (probe == null) {
			violations.add(where + ": missing");
			return;
		}
		HTTPGetAction get = probe.getHttpGet();
		if (get == null || !path.equals(get.getPath())) {
			violations.add(where + ": must be an httpGet on " + path);
			return;
		}
		Integer port = resolve(get.getPort(), container);
		if (port == null || port != APP_PORT) {
			violations.add(where + ": port " + portText(get.getPort()) + " is not the application port");
		}
	}

	private static Long preStopSeconds(Container container) {
		if (container.getLifecycle() == null || container.getLifecycle().getPreStop() == null) {
			return null;
		}
		var preStop = container.getLifecycle().getPreStop();
		if (preStop.getSleep() != null) {
			return preStop.getSleep().getSeconds();
		}
		if (preStop.getExec() != null && preStop.getExec().getCommand().size() == 2
				&& "sleep".equals(preStop.getExec().getCommand().get(0))) {
			return Long.parseLong(preStop.getExec().getCommand().get(1));
		}
		return null;
	}

	private static void checkEnv(String where, Container container, List<HasMetadata> resources, Set<String> knownEnv,
			List<String> violations) {
		Set<String> names = new HashSet<>();
		for (EnvVar env : container.getEnv()) {
			String e = where + " env " + env.getName();
			if (!names.add(env.getName())) {
				violations.add(e + ": defined twice");
			}
			if (!knownEnv.contains(env.getName())) {
				violations.add(e + ": not a variable the application or its runtime reads");
			}
			if (env.getValue() != null && env.getValueFrom() != null) {
				violations.add(e + ": has both value and valueFrom");
			}
			if (env.getValueFrom() == null) {
				continue;
			}
			var ref = env.getValueFrom();
			if (ref.getConfigMapKeyRef() != null && !Boolean.TRUE.equals(ref.getConfigMapKeyRef().getOptional())) {
				ConfigMap map = named(ofType(resources, ConfigMap.class), ref.getConfigMapKeyRef().getName());
				if (map == null || map.getData() == null
						|| !map.getData().containsKey(ref.getConfigMapKeyRef().getKey())) {
					violations.add(e + ": ConfigMap " + ref.getConfigMapKeyRef().getName() + " has no key "
							+ ref.getConfigMapKeyRef().getKey());
				}
			}
			if (ref.getSecretKeyRef() != null && !Boolean.TRUE.equals(ref.getSecretKeyRef().getOptional())) {
				Secret secret = named(ofType(resources, Secret.class), ref.getSecretKeyRef().getName());
				boolean has = secret != null
						&& ((secret.getData() != null && secret.getData().containsKey(ref.getSecretKeyRef().getKey()))
								|| (secret.getStringData() != null
										&& secret.getStringData().containsKey(ref.getSecretKeyRef().getKey())));
				if (!has) {
					violations.add(e + ": Secret " + ref.getSecretKeyRef().getName() + " has no key "
							+ ref.getSecretKeyRef().getKey());
				}
			}
		}
	}

	/**
	 * libtorch lives outside the heap: memory requests and limits are mandatory, and the
	 * limit must leave at least 3 GiB beside the 25% heap (a training step's native
	 * peak).
	 */
	private static void checkResources(String where, Container container, List<String> violations) {
		Map<String, Quantity> requests = requests(container);
		Map<String, Quantity> limits = (container.getResources() != null
				&& container.getResources().getLimits() != null) ? container.getResources().getLimits() : Map.of();
		if (!requests.containsKey("memory") || !limits.containsKey("memory") || !requests.containsKey("cpu")) {
			violations.add(where + ": needs cpu and memory requests and a memory limit");
			return;
		}
		BigDecimal limit = Quantity.getAmountInBytes(limits.get("memory"));
		BigDecimal threeGib = BigDecimal.valueOf(3L << 30);
		if (limit.multiply(BigDecimal.valueOf(0.75)).compareTo(threeGib) < 0) {
			violations.add(where + ": memory limit " + limits.get("memory")
					+ " leaves under 3 GiB for native memory beside a 25% heap");
		}
		if (Quantity.getAmountInBytes(requests.get("memory")).compareTo(limit) > 0) {
			violations.add(where + ": memory request above its limit");
		}
	}

	private static void checkService(String source, Service service, List<Deployment> deployments,
			List<String> violations) {
		String where = source + " Service/" + service.getMetadata().getName();
		List<Deployment> selected = deployments.stream()
			.filter((d) -> service.getSpec().getSelector() != null
					&& podLabels(d).entrySet().containsAll(service.getSpec().getSelector().entrySet()))
			.toList();
		if (selected.isEmpty()) {
			violations.add(where + ": selects no Deployment's pods");
			return;
		}
		for (ServicePort port : service.getSpec().getPorts()) {
			for (Deployment deployment : selected) {
				boolean resolved = containers(deployment).stream().anyMatch((c) -> {
					Integer target = resolve(
							(port.getTargetPort() != null) ? port.getTargetPort() : new IntOrString(port.getPort()), c);
					return target != null && target == APP_PORT;
				});
				if (!resolved) {
					violations.add(where + " port " + port.getName() + ": targetPort " + portText(port.getTargetPort())
							+ " is not the application port of " + deployment.getMetadata().getName());
				}
			}
		}
	}

	/** A numeric port, or a named one looked up in the container's ports. */
	private static Integer resolve(IntOrString port, Container container) {
		if (port == null) {
			return null;
		}
		if (port.getIntVal() != null) {
			return container.getPorts()
				.stream()
				.map(ContainerPort::getContainerPort)
				.filter(port.getIntVal()::equals)
				.findFirst()
				.orElse(null);
		}
		return container.getPorts()
			.stream()
			.filter((p) -> port.getStrVal().equals(p.getName()))
			.map(ContainerPort::getContainerPort)
			.findFirst()
			.orElse(null);
	}

	private static String portText(IntOrString port) {
		return (port == null) ? "none" : (port.getIntVal() != null) ? port.getIntVal().toString() : port.getStrVal();
	}

	static List<Container> containers(Deployment deployment) {
		return deployment.getSpec().getTemplate().getSpec().getContainers();
	}

	static Map<String, Quantity> requests(Container container) {
		return (container.getResources() != null && container.getResources().getRequests() != null)
				? container.getResources().getRequests() : Map.of();
	}

	static Map<String, String> podLabels(Deployment deployment) {
		Map<String, String> labels = deployment.getSpec().getTemplate().getMetadata().getLabels();
		return (labels != null) ? labels : Map.of();
	}

	private static boolean selects(LabelSelector selector, Map<String, String> labels) {
		return selector != null && selector.getMatchLabels() != null && !selector.getMatchLabels().isEmpty()
				&& labels.entrySet().containsAll(selector.getMatchLabels().entrySet());
	}

	/**
	 * A custom resource (or any model object) as a JSON tree, for reading nested fields.
	 */
	static JsonNode tree(Object resource) {
		return JSON.readTree(SERIALIZATION.asJson(resource));
	}

	/** Custom resources of one kind (they parse as generic resources). */
	static List<GenericKubernetesResource> ofKind(List<HasMetadata> resources, String kind) {
		return resources.stream()
			.filter((r) -> r instanceof GenericKubernetesResource && kind.equals(r.getKind()))
			.map(GenericKubernetesResource.class::cast)
			.toList();
	}

	static <T extends HasMetadata> List<T> ofType(List<HasMetadata> resources, Class<T> type) {
		return resources.stream().filter(type::isInstance).map(type::cast).toList();
	}

	static <T extends HasMetadata> T named(List<T> resources, String name) {
		return resources.stream().filter((r) -> r.getMetadata().getName().equals(name)).findFirst().orElse(null);
	}

	/** Env values of a container: literal values, or "ref:" for references. */
	static Map<String, String> env(Container container) {
		Map<String, String> env = new LinkedHashMap<>();
		container.getEnv()
			.forEach((e) -> env.put(e.getName(), (e.getValue() != null) ? e.getValue() : "ref:" + e.getValueFrom()));
		return env;
	}

	static Predicate<Deployment> withRole(String role) {
		return (d) -> containers(d).stream().anyMatch((c) -> role.equals(env(c).get("APP_ROLES")));
	}

}
