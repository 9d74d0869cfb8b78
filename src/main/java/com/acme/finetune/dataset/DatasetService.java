package com.acme.finetune.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

import com.acme.finetune.dataset.intake.ArchiveIntake;
import com.acme.finetune.dataset.intake.DatasetPlanner;
import com.acme.finetune.dataset.intake.DatasetProperties;
import com.acme.finetune.dataset.intake.DiskGuard;
import com.acme.finetune.dataset.intake.DiskSpace;
import com.acme.finetune.dataset.intake.SafeText;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.training.TrainingData;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.io.InputStreamSource;
import org.springframework.data.domain.PageRequest;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The dataset capability's entry point for other capabilities (the job system): look up a
 * dataset and get its images as {@link TrainingData}. Intake (upload), listing and
 * deletion are used by this package's HTTP controller.
 * <p>
 * Image bytes live in the artifact store's content-addressed blobs; {@code dataset_blob}
 * counts the datasets using each blob so a blob is removed with its last dataset.
 */
@Service
public class DatasetService {

	static final String STATUS_READY = "READY";

	private static final Logger log = LoggerFactory.getLogger(DatasetService.class);

	private static final JsonMapper json = JsonMapper.builder().build();

	private static final int CHUNK = 1000;

	/** Column sizes of {@code V1__datasets.sql}, checked before an insert can fail. */
	static final int MAX_NAME_LENGTH = 255;

	static final int MAX_WARNING_MESSAGE_LENGTH = 2000;

	static final int MAX_WARNING_DETAILS_LENGTH = 1_000_000;

	private final DatasetRepository repository;

	private final IdempotencyKeys idempotency;

	private final ArtifactStore store;

	private final DatasetProperties properties;

	private final ObjectProvider<DatasetUsage> usages;

	private final JdbcTemplate jdbc;

	private final NamedParameterJdbcTemplate named;

	private final TransactionTemplate tx;

	private final TransactionTemplate readOnly;

	private final DiskSpace diskSpace;

	DatasetService(DatasetRepository repository, ArtifactStore store, DatasetProperties properties,
			ObjectProvider<DatasetUsage> usages, JdbcTemplate jdbc, PlatformTransactionManager transactionManager,
			IdempotencyKeys idempotency, DiskSpace diskSpace) {
		this.repository = repository;
		this.diskSpace = diskSpace;
		this.idempotency = idempotency;
		this.store = store;
		this.properties = properties;
		this.usages = usages;
		this.jdbc = jdbc;
		this.named = new NamedParameterJdbcTemplate(jdbc);
		this.tx = new TransactionTemplate(transactionManager);
		this.readOnly = new TransactionTemplate(transactionManager);
		this.readOnly.setReadOnly(true);
	}

	private ArchiveIntake.Extraction extract(Path archive, Path target) {
		try {
			return new ArchiveIntake(this.properties, diskGuard()).extract(archive, target);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private DiskGuard diskGuard() {
		return new DiskGuard(this.diskSpace, this.store.tempDir(), this.properties.minFreeDiskBytes());
	}

	/**
	 * The dataset with the given id.
	 * @throws ApiException (404) when there is none
	 */
	public DatasetSummary find(UUID id) {
		return this.readOnly.execute((status) -> toSummary(load(id)));
	}

	/**
	 * The dataset's images, split, with labels sorted by name and samples pointing at the
	 * stored blobs. {@code key} is the archive's SHA-256, so identical uploads share
	 * caches.
	 * @throws ApiException (404) when there is no such dataset
	 */
	public TrainingData trainingData(UUID id) {
		return this.readOnly.execute((status) -> {
			DatasetEntity dataset = load(id);
			List<String> labels = dataset.getClasses().stream().map(DatasetEntity.DatasetClass::getLabel).toList();
			List<TrainingData.Sample> train = new ArrayList<>();
			List<TrainingData.Sample> validation = new ArrayList<>();
			for (DatasetFileEntity file : this.repository.findFiles(id)) {
				TrainingData.Sample sample = new TrainingData.Sample(this.store.blobPath(file.getSha256()),
						file.getLabelIndex());
				(DatasetFileEntity.VALIDATION.equals(file.getSplit()) ? validation : train).add(sample);
			}
			return new TrainingData(dataset.getSha256(), labels, List.copyOf(train), List.copyOf(validation));
		});
	}

	/**
	 * The dataset's images with their paths in the uploaded archive, labels and split, in
	 * upload order: what an evaluation scores a model on.
	 * @throws ApiException (404) when there is no such dataset
	 */
	public List<LabelledImage> labelledImages(UUID id) {
		return this.readOnly.execute((status) -> {
			DatasetEntity dataset = load(id);
			List<String> labels = dataset.getClasses().stream().map(DatasetEntity.DatasetClass::getLabel).toList();
			List<LabelledImage> images = new ArrayList<>();
			for (DatasetFileEntity file : this.repository.findFiles(id)) {
				images.add(new LabelledImage(file.getPath(), this.store.blobPath(file.getSha256()),
						labels.get(file.getLabelIndex()), DatasetFileEntity.VALIDATION.equals(file.getSplit())));
			}
			return List.copyOf(images);
		});
	}

	/**
	 * Extracts an uploaded archive of images to classify (zip or tar.gz, any folder
	 * layout) with the safety of dataset intake: the same limits on entries, bytes and
	 * compression ratio, the same refusals of unsafe entries and nested archives (the
	 * whole upload is refused, nothing is kept), the same image checks; but files that
	 * are not valid images go to {@code rejected} (path, reason) instead of refusing the
	 * upload.
	 * @param target an empty directory that receives the images
	 * @return the images, with their paths in the archive
	 */
	public List<ArchiveImage> extractImages(InputStreamSource upload, Path target,
			java.util.function.BiConsumer<String, String> rejected) {
		DiskGuard disk = diskGuard();
		Path archive = null;
		try {
			disk.require(0);
			archive = this.store.createTempFile("images-", ".upload");
			try (InputStream in = upload.getInputStream();
					OutputStream out = disk.watch(Files.newOutputStream(archive))) {
				in.transferTo(out);
			}
			return new ArchiveIntake(this.properties, disk).extractImages(archive, target, rejected)
				.stream()
				.map((f) -> new ArchiveImage(f.path(), f.tempFile()))
				.toList();
		}
		catch (IOException | UncheckedIOException ex) {
			if (DiskGuard.isDiskFull(ex)) {
				throw DiskGuard.insufficientStorage();
			}
			throw (ex instanceof IOException io) ? new UncheckedIOException(io) : (UncheckedIOException) ex;
		}
		finally {
			if (archive != null) {
				try {
					Files.deleteIfExists(archive);
				}
				catch (IOException ex) {
					log.warn("Temporary upload {} was not deleted: {}", archive, ex.getMessage());
				}
			}
		}
	}

	/** An image extracted from an archive: its path in the archive and its file. */
	public record ArchiveImage(String path, Path file) {
	}

	/**
	 * One image of a dataset.
	 *
	 * @param path its path in the uploaded archive
	 * @param file where its bytes are stored
	 */
	public record LabelledImage(String path, Path file, String label, boolean validation) {
	}

	PageResponse<DatasetSummary> list(Paging paging) {
		return this.readOnly.execute(
				(status) -> paging
					.read(this.repository, Specification.unrestricted(),
							(e) -> Map.of("createdAt", e.getCreatedAt(), "id", e.getId()))
					.map(DatasetService::toSummary));
	}

	/**
	 * Streams the upload to a temporary file, extracts and checks it, and stores the
	 * dataset, or refuses it having stored nothing.
	 */
	DatasetSummary create(InputStreamSource upload, String filename, String name, Double validationSplit,
			String idempotencyKey) {
		double split = (validationSplit != null) ? validationSplit : this.properties.defaultValidationSplit();
		if (Double.isNaN(split) || split < 0 || split > 0.5) {
			throw new ApiException(ProblemType.VALIDATION, "validationSplit must be between 0 and 0.5").with("errors",
					List.of(Map.of("field", "validationSplit", "message", "must be between 0 and 0.5")));
		}
		String datasetName = datasetName(name, filename);
		DiskGuard disk = diskGuard();
		Path work = null;
		try {
			disk.require(0);
			work = this.store.createTempDirectory("dataset-");
			Path archive = work.resolve("upload");
			MessageDigest digest = sha256();
			try (InputStream in = upload.getInputStream();
					OutputStream out = new DigestOutputStream(disk.watch(Files.newOutputStream(archive)), digest)) {
				in.transferTo(out);
			}
			long size = Files.size(archive);
			String sha = ArtifactStore.hex(digest.digest());
			Path extracted = Files.createDirectory(work.resolve("files"));
			// the same key with the same archive, name and split returns the first
			// dataset; the key is claimed before the extraction, which runs in no
			// transaction
			return this.idempotency.once("datasets", idempotencyKey, sha + "|" + datasetName + "|" + split, (claim) -> {
				ArchiveIntake.Extraction files = extract(archive, extracted);
				DatasetPlanner.Plan plan = new DatasetPlanner(this.properties).plan(files, split);
				return store(plan, datasetName, size, sha, claim).id();
			}, this::find);
		}
		catch (IOException | UncheckedIOException ex) {
			// a full disk is the client's 507 (retry later), not a server bug
			if (DiskGuard.isDiskFull(ex)) {
				throw DiskGuard.insufficientStorage();
			}
			throw (ex instanceof IOException io) ? new UncheckedIOException(io) : (UncheckedIOException) ex;
		}
		finally {
			deleteQuietly(work);
		}
	}

	/**
	 * Deletes the dataset, its rows and the blobs no other dataset uses.
	 * @throws ApiException 404 when unknown, 409 while an active job uses it
	 */
	void delete(UUID id) {
		this.tx.executeWithoutResult((status) -> {
			// serialised with job submission (see lockForNewJob): a job created for this
			// dataset commits before the usage check below, or finds the dataset gone
			if (lock(id).isEmpty()) {
				throw ApiException.notFound("Dataset", id);
			}
			DatasetEntity dataset = load(id);
			if (this.usages.orderedStream().anyMatch((usage) -> usage.isInUse(id))) {
				throw new ApiException(ProblemType.DATASET_IN_USE,
						"Dataset " + id + " is used by an active job; cancel or wait for it first");
			}
			List<String> digests = new ArrayList<>(this.repository.findBlobDigests(id));
			digests.sort(null);
			this.jdbc.update("delete from dataset_file where dataset_id = ?", id);
			this.repository.delete(dataset);
			this.repository.flush();
			this.jdbc.batchUpdate("update dataset_blob set ref_count = ref_count - 1 where sha256 = ?", digests, CHUNK,
					(ps, sha) -> ps.setString(1, sha));
			List<String> orphaned = new ArrayList<>();
			for (List<String> chunk : chunks(digests)) {
				orphaned.addAll(this.named.queryForList(
						"select sha256 from dataset_blob where ref_count <= 0 and sha256 in (:digests)",
						Map.of("digests", chunk), String.class));
				this.named.update("delete from dataset_blob where ref_count <= 0 and sha256 in (:digests)",
						Map.of("digests", chunk));
			}
			// Files go before the commit, while this transaction still locks the rows: an
			// upload that needs the same blob waits for the commit, finds no row, and
			// stores the file again instead of pointing at one about to disappear.
			for (String sha : orphaned) {
				try {
					this.store.deleteBlob(sha);
				}
				catch (IOException ex) {
					throw new UncheckedIOException(ex);
				}
			}
		});
	}

	/**
	 * Locks the dataset's row until the caller's transaction ends, so that a concurrent
	 * delete waits for the job the caller is creating (and then refuses, 409) or, when
	 * the delete went first, this finds no dataset.
	 * @throws ApiException (404) when there is no such dataset (any more)
	 * @throws IllegalStateException outside a transaction
	 */
	public void lockForNewJob(UUID id) {
		if (!TransactionSynchronizationManager.isActualTransactionActive()) {
			throw new IllegalStateException("A dataset lock only lasts as long as a transaction");
		}
		if (lock(id).isEmpty()) {
			throw ApiException.notFound("Dataset", id);
		}
	}

	private List<Integer> lock(UUID id) {
		// FOR UPDATE rather than FOR SHARE: H2, the zero-install database, has only the
		// former; submissions for one dataset take turns for a few milliseconds
		return this.jdbc.queryForList("select 1 from dataset where id = ? for update", Integer.class, id);
	}

	private DatasetSummary store(DatasetPlanner.Plan plan, String name, long size, String sha,
			IdempotencyKeys.Claim claim) {
		List<String> created = new ArrayList<>();
		try {
			return this.tx.execute((status) -> {
				int validation = (int) plan.files().stream().filter(DatasetPlanner.PlannedFile::validation).count();
				DatasetEntity dataset = new DatasetEntity(UUID.randomUUID(), name, STATUS_READY,
						plan.files().size() - validation, validation, size, sha, plan.validationSplit(),
						Instant.now().truncatedTo(ChronoUnit.MICROS));
				int[][] counts = new int[plan.labels().size()][2];
				plan.files().forEach((f) -> counts[f.label()][f.validation() ? 1 : 0]++);
				for (int label = 0; label < plan.labels().size(); label++) {
					dataset.getClasses()
						.add(new DatasetEntity.DatasetClass(plan.labels().get(label), counts[label][0],
								counts[label][1]));
				}
				plan.warnings().forEach((w) -> dataset.getWarnings().add(storable(w)));
				DatasetEntity saved = this.repository.saveAndFlush(dataset);
				insertFiles(saved.getId(), plan.files());
				Map<String, ArchiveIntake.ExtractedFile> blobs = new TreeMap<>();
				plan.files().forEach((f) -> blobs.putIfAbsent(f.file().sha256(), f.file()));
				addBlobReferences(blobs);
				claim.complete(saved.getId());
				for (ArchiveIntake.ExtractedFile file : blobs.values()) {
					try {
						if (this.store.putBlob(file.tempFile(), file.sha256())) {
							created.add(file.sha256());
						}
					}
					catch (IOException ex) {
						throw new UncheckedIOException(ex);
					}
				}
				return toSummary(saved);
			});
		}
		catch (RuntimeException ex) {
			removeUnreferenced(created);
			throw ex;
		}
	}

	/**
	 * A warning as it fits its columns: a warning must never fail an upload, so an
	 * overlong message is cut and class weights too many to store are left out (the
	 * message says so; the job computes balanced weights itself).
	 */
	static DatasetEntity.StoredWarning storable(DatasetSummary.Warning warning) {
		String message = warning.message();
		Map<String, Double> weights = warning.classWeights();
		List<String> files = warning.files();
		String details = json.writeValueAsString(new WarningDetails(files, weights));
		if (details.length() > MAX_WARNING_DETAILS_LENGTH && weights != null) {
			message += " (weights of " + weights.size() + " classes not stored: too many to list)";
			weights = null;
			details = json.writeValueAsString(new WarningDetails(files, null));
		}
		if (details.length() > MAX_WARNING_DETAILS_LENGTH && files != null) {
			while (details.length() > MAX_WARNING_DETAILS_LENGTH && !files.isEmpty()) {
				files = files.subList(0, files.size() / 2);
				details = json.writeValueAsString(new WarningDetails(files, null));
			}
			message += " (first " + files.size() + " files listed)";
		}
		if (message.length() > MAX_WARNING_MESSAGE_LENGTH) {
			message = SafeText.truncate(message, MAX_WARNING_MESSAGE_LENGTH - 1) + "…";
		}
		return new DatasetEntity.StoredWarning(warning.code(), message, details);
	}

	private void insertFiles(UUID datasetId, List<DatasetPlanner.PlannedFile> files) {
		this.jdbc.batchUpdate(
				"insert into dataset_file (id, dataset_id, path, label_index, split, size_bytes, sha256, width, height)"
						+ " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				files, CHUNK, (ps, f) -> {
					ps.setObject(1, UUID.randomUUID());
					ps.setObject(2, datasetId);
					ps.setString(3, f.path());
					ps.setInt(4, f.label());
					ps.setString(5, f.validation() ? DatasetFileEntity.VALIDATION : DatasetFileEntity.TRAIN);
					ps.setLong(6, f.file().size());
					ps.setString(7, f.file().sha256());
					ps.setInt(8, f.file().width());
					ps.setInt(9, f.file().height());
				});
	}

	/**
	 * Counts one more dataset on each blob, in digest order so that concurrent uploads
	 * lock rows in the same order and cannot deadlock. The update locks each row until
	 * commit; a row deleted by a concurrent delete in between is inserted again.
	 */
	private void addBlobReferences(Map<String, ArchiveIntake.ExtractedFile> blobs) {
		List<ArchiveIntake.ExtractedFile> pending = new ArrayList<>(blobs.values());
		for (int attempt = 0; !pending.isEmpty(); attempt++) {
			if (attempt == 3) {
				throw new IllegalStateException("Could not reference " + pending.size() + " blobs");
			}
			this.jdbc.batchUpdate(
					"insert into dataset_blob (sha256, size_bytes, ref_count) values (?, ?, 0) on conflict do nothing",
					pending, CHUNK, (ps, f) -> {
						ps.setString(1, f.sha256());
						ps.setLong(2, f.size());
					});
			int[][] updated = this.jdbc.batchUpdate(
					"update dataset_blob set ref_count = ref_count + 1 where sha256 = ?", pending, CHUNK,
					(ps, f) -> ps.setString(1, f.sha256()));
			List<ArchiveIntake.ExtractedFile> missed = new ArrayList<>();
			Iterator<ArchiveIntake.ExtractedFile> files = pending.iterator();
			for (int[] batch : updated) {
				for (int count : batch) {
					ArchiveIntake.ExtractedFile file = files.next();
					if (count == 0) {
						missed.add(file);
					}
				}
			}
			pending = missed;
		}
	}

	/**
	 * After a failed store: removes blob files this upload created that no row
	 * references.
	 */
	private void removeUnreferenced(List<String> created) {
		for (String sha : created) {
			try {
				this.tx.executeWithoutResult((status) -> {
					List<Integer> refs = this.jdbc.queryForList(
							"select ref_count from dataset_blob where sha256 = ? for update", Integer.class, sha);
					if (refs.isEmpty()) {
						try {
							this.store.deleteBlob(sha);
						}
						catch (IOException ex) {
							throw new UncheckedIOException(ex);
						}
					}
				});
			}
			catch (RuntimeException ex) {
				log.warn("Could not clean up blob {} after a failed upload", sha, ex);
			}
		}
	}

	private DatasetEntity load(UUID id) {
		return this.repository.findById(id).orElseThrow(() -> ApiException.notFound("Dataset", id));
	}

	static DatasetSummary toSummary(DatasetEntity entity) {
		List<String> classes = new ArrayList<>();
		Map<String, Integer> counts = new LinkedHashMap<>();
		for (DatasetEntity.DatasetClass c : entity.getClasses()) {
			classes.add(c.getLabel());
			counts.put(c.getLabel(), c.getImageCount());
		}
		List<DatasetSummary.Warning> warnings = entity.getWarnings().stream().map((w) -> {
			WarningDetails details = (w.getDetails() != null) ? json.readValue(w.getDetails(), WarningDetails.class)
					: new WarningDetails(null, null);
			return new DatasetSummary.Warning(w.getCode(), w.getMessage(), details.files(), details.classWeights());
		}).toList();
		return new DatasetSummary(entity.getId(), entity.getName(), entity.getStatus(), classes, entity.getImageCount(),
				counts, new DatasetSummary.Split(entity.getTrainCount(), entity.getValidationCount()),
				entity.getSizeBytes(), entity.getSha256(), warnings, entity.getCreatedAt());
	}

	/**
	 * The name given, checked (400 naming the field), or one derived from the upload's
	 * file name: its last path segment without the archive extension, control characters
	 * removed, cut to the column's 255 characters; "dataset" when nothing is left.
	 */
	static String datasetName(String name, String filename) {
		if (name != null && !name.isBlank()) {
			String stripped = name.strip();
			String problem = (stripped.length() > MAX_NAME_LENGTH)
					? "must be at most " + MAX_NAME_LENGTH + " characters"
					: SafeText.hasControlCharacter(stripped) ? "must not contain control characters" : null;
			if (problem != null) {
				throw new ApiException(ProblemType.VALIDATION, "Invalid dataset name: " + problem).with("errors",
						List.of(Map.of("field", "name", "message", problem)));
			}
			return stripped;
		}
		String base = (filename != null) ? filename.replace('\\', '/') : "";
		base = base.substring(base.lastIndexOf('/') + 1);
		base = SafeText.withoutControlCharacters(base).strip();
		String lower = base.toLowerCase(Locale.ROOT);
		for (String extension : List.of(".tar.gz", ".tgz", ".zip", ".tar")) {
			if (lower.endsWith(extension)) {
				base = base.substring(0, base.length() - extension.length());
				break;
			}
		}
		base = SafeText.truncate(base, MAX_NAME_LENGTH).strip();
		return base.isEmpty() ? "dataset" : base;
	}

	private static List<List<String>> chunks(List<String> values) {
		List<List<String>> chunks = new ArrayList<>();
		for (int i = 0; i < values.size(); i += CHUNK) {
			chunks.add(values.subList(i, Math.min(values.size(), i + CHUNK)));
		}
		return chunks;
	}

	private static void deleteQuietly(Path path) {
		if (path == null) {
			return;
		}
		try {
			ArtifactStore.deleteRecursively(path);
		}
		catch (IOException ex) {
			log.warn("Could not delete temporary files under {}", path, ex);
		}
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** The structured part of a stored warning. */
	record WarningDetails(List<String> files, Map<String, Double> classWeights) {
	}

}
