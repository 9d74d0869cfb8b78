package com.acme.finetune.backbone;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import com.acme.finetune.djl.DjlProperties;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.training.ImagenetBackbone;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

import org.springframework.stereotype.Service;

/**
 * What jobs can start from: the built-in ResNet-50s, uploaded TorchScript backbones and
 * any fine-tuned model ({@code model:<id>}). Resolves a job's {@code baseModel} to the
 * training core's {@link BaseModel}, failing fast with a 4xx when it cannot be used.
 */
@Service
public class BackboneCatalog {

	public static final String IMAGENET = "resnet50-imagenet";

	public static final String SCRATCH = "resnet50-scratch";

	static final List<String> RESNET_STAGES = List.of("stem", "layer1", "layer2", "layer3", "layer4");

	/** The host DJL's model zoo downloads from. */
	private static final URI MODEL_ZOO = URI.create("https://mlrepo.djl.ai/");

	private static final Duration REACHABILITY_TTL = Duration.ofMinutes(5);

	private final ArtifactStore store;

	private final DjlProperties djl;

	private final ModelCatalog models;

	private volatile Instant reachabilityCheckedAt = Instant.EPOCH;

	private volatile boolean zooReachable;

	BackboneCatalog(ArtifactStore store, DjlProperties djl, ModelCatalog models) {
		this.store = store;
		this.djl = djl;
		this.models = models;
	}

	public List<BackboneView> list() {
		List<BackboneView> backbones = new ArrayList<>();
		String imagenetProblem = imagenetProblem();
		backbones.add(new BackboneView(IMAGENET, "resnet50", "djl-model-zoo", imagenetProblem == null, imagenetProblem,
				2048, 224, RESNET_STAGES));
		backbones.add(new BackboneView(SCRATCH, "resnet50", "random-init", true, null, 2048, 224, RESNET_STAGES));
		return backbones;
	}

	/**
	 * The training core's view of a job's {@code baseModel}; a 4xx problem if unusable.
	 */
	public BaseModel resolve(String id) {
		if (SCRATCH.equals(id)) {
			return new BaseModel(BaseModel.Kind.SCRATCH, SCRATCH, null);
		}
		if (IMAGENET.equals(id)) {
			String problem = imagenetProblem();
			if (problem != null) {
				throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE, problem);
			}
			return new BaseModel(BaseModel.Kind.IMAGENET, IMAGENET, imagenetDir());
		}
		if (id.startsWith("model:")) {
			UUID modelId;
			try {
				modelId = UUID.fromString(id.substring("model:".length()));
			}
			catch (IllegalArgumentException ex) {
				throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE, "'" + id + "' is not model:<uuid>");
			}
			if (this.models.find(modelId).isEmpty()) {
				throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE, "Model " + modelId + " does not exist");
			}
			return new BaseModel(BaseModel.Kind.FINETUNED, id, this.models.artifactDir(modelId));
		}
		throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE, "Unknown base model '" + id
				+ "': use resnet50-imagenet, resnet50-scratch, an uploaded backbone id, or model:<id>");
	}

	/** Where the ImageNet backbone is kept once fetched, so restarts need no network. */
	Path imagenetDir() {
		return this.store.root().resolve("backbones").resolve(IMAGENET);
	}

	/** Why the ImageNet backbone cannot be used now, or null when it can. */
	private String imagenetProblem() {
		if (ImagenetBackbone.isAvailable(imagenetDir())) {
			return null;
		}
		if (this.djl.offline()) {
			return "The ImageNet ResNet-50 is not in the model store and the service runs offline (app.djl.offline). "
					+ "Run once with network access, bake it into the image, or copy traced_resnet50 into "
					+ imagenetDir();
		}
		if (!zooReachable()) {
			return "The ImageNet ResNet-50 is not in the model store and the DJL model zoo (" + MODEL_ZOO.getHost()
					+ ") cannot be reached. Allow network access once, bake it into the image, or copy "
					+ "traced_resnet50 into " + imagenetDir();
		}
		return null;
	}

	private boolean zooReachable() {
		if (Instant.now().isAfter(this.reachabilityCheckedAt.plus(REACHABILITY_TTL))) {
			boolean reachable;
			try (Socket socket = new Socket()) {
				socket.connect(new InetSocketAddress(MODEL_ZOO.getHost(), 443), 2000);
				reachable = true;
			}
			catch (IOException | RuntimeException ex) {
				reachable = false;
			}
			this.zooReachable = reachable;
			this.reachabilityCheckedAt = Instant.now();
		}
		return this.zooReachable;
	}

}
