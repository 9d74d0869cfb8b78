package com.acme.finetune.backbone;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.file.StandardCopyOption;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.djl.DjlProperties;
import com.acme.finetune.model.BaseModelUsage;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.BackboneInfo;
import com.acme.finetune.training.BaseModel;
import com.acme.finetune.sandbox.TorchScriptSandbox;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.ImagenetBackbone;
import com.acme.finetune.training.UnsafeTorchScriptException;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;

import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.io.InputStreamSource;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What jobs can start from: the built-in ResNet-50s, uploaded TorchScript backbones and
 * any fine-tuned model ({@code model:<id>}). Resolves a job's {@code baseModel} to the
 * training core's {@link BaseModel}, failing fast with a 4xx when it cannot be used.
 */
@Service
public class BackboneCatalog {

	public static final String IMAGENET = "resnet50-imagenet";

	public static final String SCRATCH = "resnet50-scratch";

	static final String BACKBONE_FILE = "backbone.pt";

	/** The image size uploads are inspected with, and {@code GET /backbones} shows. */
	static final int INPUT_SIZE = 224;

	static final List<String> RESNET_STAGES = List.of("stem", "layer1", "layer2", "layer3", "layer4");

	/** The host DJL's model zoo downloads from. */
	private static final URI MODEL_ZOO = URI.create("https://mlrepo.djl.ai/");

	private static final Duration REACHABILITY_TTL = Duration.ofMinutes(5);

	private final ArtifactStore store;

	private final DjlProperties djl;

	private final ModelCatalog models;

	private volatile Instant reachabilityCheckedAt = Instant.EPOCH;

	private volatile boolean zooReachable;

	private final BackboneRepository uploaded;

	private final ObjectProvider<BaseModelUsage> usages;

	private final TransactionTemplate transaction;

	private final TorchScriptSandbox sandbox;

	private final ObjectMapper json;

	BackboneCatalog(ArtifactStore store, DjlProperties djl, ModelCatalog models, BackboneRepository uploaded,
			ObjectProvider<BaseModelUsage> usages, TorchScriptSandbox sandbox, ObjectMapper json,
			TransactionTemplate transaction) {
		this.usages = usages;
		this.transaction = transaction;
		this.store = store;
		this.djl = djl;
		this.models = models;
		this.uploaded = uploaded;
		this.sandbox = sandbox;
		this.json = json;
	}

	public List<BackboneView> list() {
		List<BackboneView> backbones = new ArrayList<>();
		String imagenetProblem = imagenetProblem();
		backbones.add(new BackboneView(IMAGENET, "resnet50", "djl-model-zoo", imagenetProblem == null, imagenetProblem,
				2048, 224, RESNET_STAGES));
		backbones.add(new BackboneView(SCRATCH, "resnet50", "random-init", true, null, 2048, 224, RESNET_STAGES));
		this.uploaded.findAllByOrderByCreatedAtAsc().forEach((b) -> backbones.add(view(b)));
		return backbones;
	}

	public BackboneView get(String id) {
		return list().stream()
			.filter((b) -> b.id().equals(id))
			.findFirst()
			.orElseThrow(() -> ApiException.notFound("Backbone", id));
	}

	/**
	 * Stores an uploaded TorchScript backbone after checking it: its code must stay
	 * within {@link com.acme.finetune.training.TorchScriptPolicy}'s allow-list, and in
	 * the sandbox it must load, run a forward pass on a dummy batch and map images to a
	 * feature vector, within the sandbox's time and memory limits. Nothing of the file
	 * runs in this process before that.
	 */
	BackboneView upload(InputStreamSource file, String name) {
		if (name != null && name.length() > 200) {
			throw new ApiException(ProblemType.VALIDATION, "name is longer than 200 characters").with("errors",
					List.of(java.util.Map.of("field", "name", "message", "size must be at most 200")));
		}
		String id = UUID.randomUUID().toString();
		Path temp = null;
		try {
			temp = this.store.createTempFile("backbone-", ".pt");
			MessageDigest digest = MessageDigest.getInstance("SHA-256");
			try (InputStream in = file.getInputStream();
					OutputStream out = new DigestOutputStream(Files.newOutputStream(temp), digest)) {
				in.transferTo(out);
			}
			if (!isZip(temp)) {
				throw new ApiException(ProblemType.INVALID_MODEL_FILE, HttpStatus.UNSUPPORTED_MEDIA_TYPE,
						"Not a TorchScript file: expected the zip archive torch.jit.save writes");
			}
			BackboneInfo info = inspect(temp);
			Path target = this.store.area("backbones", id).resolve(BACKBONE_FILE);
			Files.createDirectories(target.getParent());
			Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
			BackboneEntity entity = new BackboneEntity();
			entity.id = id;
			entity.name = (name != null && !name.isBlank()) ? name.strip() : id;
			entity.sha256 = ArtifactStore.hex(digest.digest());
			entity.sizeBytes = Files.size(target);
			entity.createdAt = Instant.now();
			accepted(entity, info, entity.sha256);
			return view(this.uploaded.save(entity));
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
		finally {
			deleteQuietly(temp);
		}
	}

	/**
	 * Deletes an uploaded backbone; built-in ones, and those an active job starts from,
	 * cannot be deleted (409).
	 */
	void delete(String id) {
		if (IMAGENET.equals(id) || SCRATCH.equals(id)) {
			throw ApiException.conflict("Built-in backbone " + id + " cannot be deleted");
		}
		this.transaction.executeWithoutResult((status) -> {
			// serialised with job submission (see lockForNewJob): a job created from this
			// backbone commits before the check below, or finds the backbone gone
			if (this.uploaded.lock(id).isEmpty()) {
				throw ApiException.notFound("Backbone", id);
			}
			if (this.usages.orderedStream().anyMatch((usage) -> usage.isInUse(id))) {
				throw new ApiException(ProblemType.BASE_MODEL_IN_USE,
						"Backbone " + id + " is the base of an active job; cancel or wait for it first");
			}
			this.uploaded.deleteById(id);
		});
		try {
			ArtifactStore.deleteRecursively(this.store.area("backbones", id));
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/**
	 * Locks the row of the base model a job is being created from until the caller's
	 * transaction ends, so that a concurrent delete of that model or backbone waits for
	 * the job (and then refuses) or, when the delete went first, the job is refused.
	 * Built-in backbones cannot be deleted and need no lock.
	 * @throws ApiException (422) when the base model no longer exists
	 */
	public void lockForNewJob(String baseModel) {
		if (SCRATCH.equals(baseModel) || IMAGENET.equals(baseModel)) {
			return;
		}
		boolean exists;
		if (baseModel.startsWith("model:")) {
			try {
				this.models.lockForNewJob(UUID.fromString(baseModel.substring("model:".length())));
				exists = true;
			}
			catch (ApiException | IllegalArgumentException ex) {
				exists = false;
			}
		}
		else {
			exists = !this.uploaded.lock(baseModel).isEmpty();
		}
		if (!exists) {
			throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE, "Base model " + baseModel + " no longer exists");
		}
	}

	/** The sandbox's verdict on a file: what it offers, or a 422 saying why not. */
	private BackboneInfo inspect(Path file) {
		try {
			return this.sandbox.inspect(file, INPUT_SIZE);
		}
		catch (InvalidBackboneException ex) {
			throw invalid(ex.getMessage(), ex);
		}
	}

	private static ApiException invalid(String detail, InvalidBackboneException cause) {
		ApiException problem = new ApiException(ProblemType.INVALID_MODEL_FILE, detail);
		if (cause instanceof UnsafeTorchScriptException unsafe) {
			problem.with("refused", unsafe.refused());
		}
		return problem;
	}

	/** Records what the inspection accepted: the file's digest and what it offers. */
	private void accepted(BackboneEntity entity, BackboneInfo info, String sha256) {
		entity.featureDim = info.featureDim();
		entity.inputSize = info.inputSize();
		entity.stages = String.join(",", info.trainableStages().stream().map(Stage::id).toList());
		entity.parameterTotals = this.json.writeValueAsString(info.parameterTotals());
		entity.batchStatistics = info.batchStatisticsInTrainMode();
		entity.inspectedSha256 = sha256;
		entity.inspectedAt = Instant.now();
		entity.refusal = null;
	}

	/**
	 * What an uploaded backbone offers, as its sandboxed inspection found: enough to plan
	 * a job (parameter counts, stages, BatchNorm behaviour) without loading the module in
	 * this process. A backbone inspected before the BatchNorm behaviour was recorded is
	 * inspected again, once, in the sandbox.
	 */
	public BackboneInfo inspection(String id) {
		BackboneEntity b = this.uploaded.findById(id).orElseThrow(() -> ApiException.notFound("Backbone", id));
		Path file = acceptedFile(b);
		if (b.parameterTotals == null || b.batchStatistics == null) {
			accepted(b, inspect(file), b.inspectedSha256);
			b = this.uploaded.save(b);
		}
		List<Stage> stages = b.stages.isEmpty() ? List.of()
				: java.util.Arrays.stream(b.stages.split(",")).map(Stage::parse).toList();
		Map<String, Long> totals = this.json.readValue(b.parameterTotals, new TypeReference<Map<String, Long>>() {
		});
		return new BackboneInfo(b.id, b.featureDim, b.inputSize, stages, "torchscript", totals, b.batchStatistics);
	}

	/**
	 * The file of an uploaded backbone, once it is known to be the file the sandbox
	 * accepted. A backbone uploaded before uploads were inspected is inspected now (once:
	 * the verdict is recorded); a file whose digest no longer matches is refused.
	 */
	private Path acceptedFile(BackboneEntity entity) {
		Path file = this.store.area("backbones", entity.id).resolve(BACKBONE_FILE);
		if (!Files.isRegularFile(file)) {
			throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE,
					"The file of backbone " + entity.id + " is missing");
		}
		String sha256 = ArtifactStore.hex(sha256(file));
		if (entity.inspectedSha256 != null) {
			if (!entity.inspectedSha256.equals(sha256)) {
				throw new ApiException(ProblemType.BACKBONE_UNAVAILABLE,
						"The file of backbone " + entity.id + " is not the file its inspection accepted (sha256 "
								+ entity.inspectedSha256 + ", now " + sha256 + "); it is not run. Upload it again.");
			}
			return file;
		}
		if (entity.refusal != null && sha256.equals(entity.sha256)) {
			throw new ApiException(ProblemType.INVALID_MODEL_FILE, entity.refusal);
		}
		try {
			accepted(entity, this.sandbox.inspect(file, INPUT_SIZE), sha256);
			this.uploaded.save(entity);
			return file;
		}
		catch (InvalidBackboneException ex) {
			entity.refusal = "Backbone " + entity.id + " was uploaded before uploads were inspected in a sandbox, "
					+ "and fails that inspection: " + ex.getMessage();
			if (entity.refusal.length() > 4000) {
				entity.refusal = entity.refusal.substring(0, 3999) + "…";
			}
			entity.sha256 = sha256;
			this.uploaded.save(entity);
			throw invalid(entity.refusal, ex);
		}
	}

	private static byte[] sha256(Path file) {
		try (InputStream in = Files.newInputStream(file)) {
			MessageDigest digest = MessageDigest.getInstance("SHA-256");
			byte[] buffer = new byte[1 << 16];
			int n;
			while ((n = in.read(buffer)) > 0) {
				digest.update(buffer, 0, n);
			}
			return digest.digest();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static BackboneView view(BackboneEntity b) {
		List<String> stages = b.stages.isEmpty() ? List.of() : List.of(b.stages.split(","));
		return new BackboneView(b.id, "torchscript", "upload", b.refusal == null, b.refusal, b.featureDim, b.inputSize,
				stages);
	}

	private static boolean isZip(Path file) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			byte[] magic = in.readNBytes(4);
			return magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
		}
	}

	private static void deleteQuietly(Path file) {
		if (file != null) {
			try {
				Files.deleteIfExists(file);
			}
			catch (IOException ex) {
				// a leftover temp file is cleaned with the temp directory
			}
		}
	}

	/**
	 * The training core's view of a job's {@code baseModel}; a 4xx problem if unusable. A
	 * TorchScript file it names has been accepted by the sandbox (see
	 * {@link #acceptedFile}, {@link ModelCatalog#acceptedArtifactDir}).
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
			return new BaseModel(BaseModel.Kind.FINETUNED, id, this.models.acceptedArtifactDir(modelId));
		}
		BackboneEntity uploadedBackbone = this.uploaded.findById(id).orElse(null);
		if (uploadedBackbone != null) {
			return new BaseModel(BaseModel.Kind.TORCHSCRIPT, id, acceptedFile(uploadedBackbone));
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
