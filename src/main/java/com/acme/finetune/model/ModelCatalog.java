package com.acme.finetune.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.ProblemType;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.stereotype.Service;
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

	private final ObjectProvider<ModelRegistrations> registrations;

	ModelCatalog(ModelRepository models, ArtifactStore store, ObjectMapper json, ApplicationEventPublisher events,
			ObjectProvider<BaseModelUsage> usages, ObjectProvider<ModelRegistrations> registrations) {
		this.usages = usages;
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

	@Transactional(readOnly = true)
	public PageResponse<ModelView> list(Pageable pageable) {
		Page<ModelEntity> page = this.models.findAll(pageable);
		Map<UUID, List<ModelView.Registration>> registered = registrationsOf(page.getContent());
		return PageResponse.of(page, (e) -> view(e, registered));
	}

	/**
	 * Deletes the row, tells listeners (which release the loaded model, so no native code
	 * still reads the files), then removes the files; a missing model is a 404, one that
	 * a queued or running job starts from a 409.
	 */
	@Transactional
	public void delete(UUID id) {
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
