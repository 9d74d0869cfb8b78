package com.acme.finetune.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import com.acme.finetune.sandbox.TorchScriptSandbox;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.artifact.ModelArtifact;
import com.acme.finetune.training.UnsafeTorchScriptException;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

/**
 * The registry of fine-tuned models: rows in the database, artifacts under
 * {@code models/<id>} in the artifact store.
 */
@Service
public class ModelCatalog {

	private final ModelRepository models;

	private final ArtifactStore store;

	private final ObjectMapper json;

	private final ApplicationEventPublisher events;

	private final ObjectProvider<BaseModelUsage> usages;

	private final TorchScriptSandbox sandbox;

	private final ObjectProvider<ModelRegistrations> registrations;

	ModelCatalog(ModelRepository models, ArtifactStore store, ObjectMapper json, ApplicationEventPublisher events,
			ObjectProvider<BaseModelUsage> usages, TorchScriptSandbox sandbox,
			ObjectProvider<ModelRegistrations> registrations) {
		this.usages = usages;
		this.sandbox = sandbox;
		this.registrations = registrations;
		this.models = models;
		this.store = store;
		this.json = json;
		this.events = events;
	}

	/** Moves a finished artifact into the store and records the model. */
	@Transactional
	public ModelView register(NewModel model) {
		UUID id = UUID.randomUUID();
		Path target = this.store.area("models", id.toString());
		try {
			Files.createDirectories(target.getParent());
			try {
				Files.move(model.artifactDir(), target, StandardCopyOption.ATOMIC_MOVE);
			}
			catch (AtomicMoveNotSupportedException ex) {
				Files.move(model.artifactDir(), target);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot store model artifact", ex);
		}
		ModelEntity entity = new ModelEntity();
		entity.id = id;
		entity.jobId = model.jobId();
		entity.name = model.name();
		entity.labels = this.json.writeValueAsString(model.labels());
		entity.backbone = model.backbone();
		entity.freeze = this.json.writeValueAsString(model.freeze());
		entity.imageSize = model.imageSize();
		entity.metrics = this.json.writeValueAsString(model.metrics());
		entity.totalParameters = model.totalParameters();
		entity.trainableParameters = model.trainableParameters();
		entity.sizeBytes = sizeOf(target);
		entity.artifactPath = this.store.root().relativize(target).toString();
		entity.createdAt = Instant.now();
		// trained from an accepted base by the training process: its graph is accepted
		Path backbone = target.resolve(ModelArtifact.TORCHSCRIPT_BACKBONE);
		entity.backboneSha256 = Files.isRegularFile(backbone) ? sha256(backbone) : null;
		if (model.lineage() != null) {
			entity.datasetId = model.lineage().datasetId();
			entity.datasetSha256 = model.lineage().datasetSha256();
			entity.baseModel = model.lineage().baseModel();
			entity.spec = model.lineage().spec();
		}
		return view(this.models.save(entity));
	}

	@Transactional(readOnly = true)
	public Optional<ModelView> find(UUID id) {
		return this.models.findById(id).map(this::view);
	}

	/** The model a job registered, if it got that far. */
	@Transactional(readOnly = true)
	public Optional<ModelView> findByJob(UUID jobId) {
		return this.models.findFirstByJobIdOrderByCreatedAtAsc(jobId).map(this::view);
	}

	/**
	 * Locks the model's row until the caller's transaction ends, so that a concurrent
	 * delete waits for the job the caller is creating from it (and then refuses), or,
	 * when the delete went first, this finds no model.
	 * @throws ApiException (404) when there is no such model
	 */
	@Transactional(propagation = Propagation.MANDATORY)
	public void lockForNewJob(UUID id) {
		if (this.models.lock(id).isEmpty()) {
			throw ApiException.notFound("Model", id);
		}
	}

	/** The models that exist among these ids, by id. */
	@Transactional(readOnly = true)
	public Map<UUID, ModelView> findAll(Collection<UUID> ids) {
		List<ModelEntity> found = this.models.findAllById(ids);
		Map<UUID, List<ModelView.Registration>> registered = registrationsOf(found);
		Map<UUID, ModelView> views = new LinkedHashMap<>();
		found.forEach((e) -> views.put(e.id, view(e, registered)));
		return views;
	}

	public ModelView get(UUID id) {
		return find(id).orElseThrow(() -> ApiException.notFound("Model", id));
	}

	/** The directory of a model's artifact. */
	@Transactional(readOnly = true)
	public Path artifactDir(UUID id) {
		ModelEntity entity = this.models.findById(id).orElseThrow(() -> ApiException.notFound("Model", id));
		return this.store.root().resolve(entity.artifactPath);
	}

	/**
	 * The directory of a model's artifact, once its TorchScript backbone (models trained
	 * from {@code resnet50-imagenet}, an uploaded backbone, or such a model) is known to
	 * be the graph accepted when the model was registered. A model trained before
	 * TorchScript was inspected has no record: its backbone is inspected in the sandbox
	 * now, once, like an upload. Loading a model for serving or as a base goes through
	 * here.
	 * @throws ApiException 404 if the model does not exist, 422 if its backbone is
	 * refused or was changed
	 */
	public Path acceptedArtifactDir(UUID id) {
		ModelEntity entity = this.models.findById(id).orElseThrow(() -> ApiException.notFound("Model", id));
		Path dir = this.store.root().resolve(entity.artifactPath);
		Path backbone = dir.resolve(ModelArtifact.TORCHSCRIPT_BACKBONE);
		if (!Files.isRegularFile(backbone)) {
			return dir;
		}
		String digest = sha256(backbone);
		if (entity.backboneSha256 == null) {
			try {
				this.sandbox.inspect(backbone, entity.imageSize);
			}
			catch (InvalidBackboneException ex) {
				ApiException problem = new ApiException(ProblemType.INVALID_MODEL_FILE, "Model " + id
						+ " was trained before TorchScript was inspected in a sandbox, and its backbone fails that "
						+ "inspection: " + ex.getMessage());
				if (ex instanceof UnsafeTorchScriptException unsafe) {
					problem.with("refused", unsafe.refused());
				}
				throw problem;
			}
			entity.backboneSha256 = digest;
			this.models.save(entity);
		}
		else if (!entity.backboneSha256.equals(digest)) {
			throw new ApiException(ProblemType.INVALID_MODEL_FILE, "The TorchScript backbone of model " + id
					+ " is not the one recorded when the model was registered; it is not loaded");
		}
		return dir;
	}

	private static String sha256(Path file) {
		try (InputStream in = Files.newInputStream(file)) {
			MessageDigest digest = MessageDigest.getInstance("SHA-256");
			byte[] buffer = new byte[1 << 16];
			int n;
			while ((n = in.read(buffer)) > 0) {
				digest.update(buffer, 0, n);
			}
			return ArtifactStore.hex(digest.digest());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	@Transactional(readOnly = true)
	public PageResponse<ModelView> list(Paging paging) {
		Paging.Window<ModelEntity> page = paging.read(this.models, Specification.unrestricted(),
				(e) -> Map.of("createdAt", e.createdAt, "id", e.id));
		Map<UUID, List<ModelView.Registration>> registered = registrationsOf(page.content());
		return page.map((e) -> view(e, registered));
	}

	/**
	 * Deletes the row, tells listeners (which release the loaded model, so no native code
	 * still reads the files), then removes the files; a missing model is a 404, one that
	 * a queued or running job starts from a 409.
	 */
	@Transactional
	public void delete(UUID id) {
		// serialised with job submission (see lockForNewJob): a job created from this
		// model commits before this check, or finds the model gone
		if (this.models.lock(id).isEmpty()) {
			throw ApiException.notFound("Model", id);
		}
		ModelEntity entity = this.models.findById(id).orElseThrow(() -> ApiException.notFound("Model", id));
		if (this.usages.orderedStream().anyMatch((usage) -> usage.isInUse("model:" + id))) {
			throw new ApiException(ProblemType.BASE_MODEL_IN_USE,
					"Model " + id + " is the base of an active job; cancel or wait for it first");
		}
		ModelRegistrations registry = this.registrations.getIfAvailable();
		Optional<String> blocker = (registry != null) ? registry.deletionBlocker(id) : Optional.empty();
		if (blocker.isPresent()) {
			throw new ApiException(ProblemType.ALIASED_MODEL,
					"Model " + id + " cannot be deleted: " + blocker.get() + "; move or delete the alias first");
		}
		this.models.delete(entity);
		try {
			this.models.flush();
		}
		catch (DataIntegrityViolationException ex) {
			// an alias moved onto one of its versions after the check (the schema refuses
			// the delete)
			throw new ApiException(ProblemType.ALIASED_MODEL,
					"Model " + id + " cannot be deleted: an alias points to it; move or delete the alias first");
		}
		this.events.publishEvent(new ModelDeleted(id));
		try {
			ArtifactStore.deleteRecursively(this.store.root().resolve(entity.artifactPath));
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Model deleted but its files could not be removed", ex);
		}
	}

	private ModelView view(ModelEntity e) {
		return view(e, registrationsOf(List.of(e)));
	}

	private ModelView view(ModelEntity e, Map<UUID, List<ModelView.Registration>> registered) {
		ModelView.Dataset dataset = (e.datasetId != null) ? new ModelView.Dataset(e.datasetId, e.datasetSha256) : null;
		Map<String, Object> spec = (e.spec != null)
				? this.json.readValue(e.spec, new TypeReference<Map<String, Object>>() {
				}) : null;
		return new ModelView(e.id, e.jobId, e.name, this.json.readValue(e.labels, new TypeReference<List<String>>() {
		}), e.backbone, this.json.readValue(e.freeze, new TypeReference<Map<String, Object>>() {
		}), e.imageSize, this.json.readValue(e.metrics, new TypeReference<Map<String, Object>>() {
		}), new ModelView.Parameters(e.totalParameters, e.trainableParameters), e.sizeBytes, e.createdAt, e.baseModel,
				dataset, spec, registered.getOrDefault(e.id, List.of()));
	}

	private Map<UUID, List<ModelView.Registration>> registrationsOf(List<ModelEntity> entities) {
		ModelRegistrations registry = this.registrations.getIfAvailable();
		if (registry == null || entities.isEmpty()) {
			return Map.of();
		}
		return registry.versionsOf(entities.stream().map((e) -> e.id).toList());
	}

	private static long sizeOf(Path dir) {
		try (Stream<Path> files = Files.walk(dir)) {
			return files.filter(Files::isRegularFile).mapToLong((p) -> p.toFile().length()).sum();
		}
		catch (IOException ex) {
			return 0;
		}
	}

}
