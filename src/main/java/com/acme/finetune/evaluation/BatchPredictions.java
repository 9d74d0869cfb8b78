package com.acme.finetune.evaluation;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.job.WorkQueue;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.multipart.MultipartFile;

/**
 * Batch predictions: the inputs are checked and stored here (an uploaded archive goes
 * through dataset intake's reader and limits; a dataset is listed), then
 * {@link BatchPredictionWork} classifies them on a worker and writes one result line per
 * image.
 * <p>
 * Files, under {@code batch-predictions/<id>/} in the artifact store: {@code input/}
 * (extracted images), {@code manifest.jsonl} (one line per input file: {@code file},
 * {@code stored} relative to the store root, or {@code error}), {@code results.jsonl}
 * once it succeeded.
 */
@Service
public class BatchPredictions {

	static final String KIND = "batch-prediction";

	static final String MANIFEST = "manifest.jsonl";

	static final String RESULTS = "results.jsonl";

	private final BatchPredictionStore store;

	private final ModelCatalog models;

	private final DatasetService datasets;

	private final ArtifactStore artifacts;

	private final WorkQueue queue;

	private final TransactionTemplate transaction;

	private final IdempotencyKeys idempotency;

	private final EvaluationProperties properties;

	private final ObjectMapper json;

	BatchPredictions(BatchPredictionStore store, ModelCatalog models, DatasetService datasets, ArtifactStore artifacts,
			WorkQueue queue, TransactionTemplate transaction, IdempotencyKeys idempotency,
			EvaluationProperties properties, ObjectMapper json) {
		this.store = store;
		this.models = models;
		this.datasets = datasets;
		this.artifacts = artifacts;
		this.queue = queue;
		this.transaction = transaction;
		this.idempotency = idempotency;
		this.properties = properties;
		this.json = json;
	}

	/** One input file, as the manifest holds it. */
	record Input(String file, String stored, String error) {
	}

	Path dir(UUID id) {
		return this.artifacts.area("batch-predictions", id.toString());
	}

	/** Queues the classification of every file of an uploaded zip or tar.gz. */
	BatchPredictionView fromArchive(UUID modelId, MultipartFile file, String topKParam, String idempotencyKey) {
		if (file == null || file.isEmpty()) {
			throw invalid("file", "an archive (zip or tar.gz) of images is required");
		}
		int topK = topK(topKParam);
		this.models.get(modelId);
		String request = modelId + "|" + file.getOriginalFilename() + "|" + file.getSize() + "|" + topK;
		return this.idempotency.once("batch-predictions", idempotencyKey, request, (claim) -> {
			UUID id = UUID.randomUUID();
			Path dir = dir(id);
			try {
				Path input = Files.createDirectories(dir.resolve("input"));
				int[] total = new int[1];
				try (Writer manifest = Files.newBufferedWriter(dir.resolve(MANIFEST), StandardCharsets.UTF_8)) {
					List<DatasetService.ArchiveImage> images = this.datasets.extractImages(file, input,
							(path, reason) -> {
								write(manifest, new Input(path, null, reason));
								total[0]++;
							});
					for (DatasetService.ArchiveImage image : images) {
						write(manifest, new Input(image.path(), relative(image.file()), null));
						total[0]++;
					}
				}
				if (total[0] == 0) {
					throw new ApiException(ProblemType.INVALID_DATASET_LAYOUT, "The archive holds no files");
				}
				insert(id, modelId, null, "archive", topK, total[0], claim);
				return id;
			}
			catch (IOException | RuntimeException ex) {
				deleteQuietly(dir);
				if (ex instanceof IOException io) {
					throw new UncheckedIOException(io);
				}
				throw (RuntimeException) ex;
			}
		}, this::get);
	}

	/** Queues the classification of every image of a dataset. */
	BatchPredictionView fromDataset(UUID modelId, JsonNode body, String idempotencyKey) {
		if (body == null || !body.isObject()) {
			throw invalid("", "must be a JSON object");
		}
		List<Map<String, String>> errors = new ArrayList<>();
		for (String field : body.propertyNames()) {
			if (!"datasetId".equals(field) && !"topK".equals(field)) {
				errors.add(violation(field, "unknown field"));
			}
		}
		UUID datasetId = null;
		JsonNode id = body.get("datasetId");
		if (id == null || !id.isString()) {
			errors.add(violation("datasetId", "is required (a UUID string)"));
		}
		else {
			try {
				datasetId = UUID.fromString(id.asString());
			}
			catch (IllegalArgumentException ex) {
				errors.add(violation("datasetId", "must be a UUID"));
			}
		}
		int topK = 5;
		JsonNode k = body.get("topK");
		if (k != null && !k.isNull()) {
			if (!k.isInt() || k.asInt() < 1 || k.asInt() > this.properties.maxTopK()) {
				errors.add(violation("topK", "must be an integer from 1 to " + this.properties.maxTopK()));
			}
			else {
				topK = k.asInt();
			}
		}
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, errors.size() + " problem(s) with the request")
				.with("errors", errors);
		}
		this.models.get(modelId);
		List<DatasetService.LabelledImage> images;
		try {
			images = this.datasets.labelledImages(datasetId);
		}
		catch (ApiException ex) {
			throw invalid("datasetId", "no such dataset");
		}
		UUID dataset = datasetId;
		int k2 = topK;
		return this.idempotency.once("batch-predictions", idempotencyKey, modelId + "|" + dataset + "|" + topK,
				(claim) -> {
					UUID batch = UUID.randomUUID();
					Path dir = dir(batch);
					try {
						Files.createDirectories(dir);
						try (Writer manifest = Files.newBufferedWriter(dir.resolve(MANIFEST), StandardCharsets.UTF_8)) {
							for (DatasetService.LabelledImage image : images) {
								write(manifest, new Input(image.path(), relative(image.file()), null));
							}
						}
						insert(batch, modelId, dataset, "dataset", k2, images.size(), claim);
						return batch;
					}
					catch (IOException | RuntimeException ex) {
						deleteQuietly(dir);
						if (ex instanceof IOException io) {
							throw new UncheckedIOException(io);
						}
						throw (RuntimeException) ex;
					}
				}, this::get);
	}

	private void insert(UUID id, UUID modelId, UUID datasetId, String source, int topK, int total,
			IdempotencyKeys.Claim claim) {
		this.transaction.executeWithoutResult((tx) -> {
			this.store.insert(id, modelId, datasetId, source, topK, total);
			this.store.append(id, BatchPredictionStore.STATUS, Map.of("status", WorkStatus.QUEUED));
			this.queue.enqueue(KIND, id);
			claim.complete(id);
		});
	}

	public BatchPredictionView get(UUID id) {
		return view(this.store.find(id).orElseThrow(() -> ApiException.notFound("Batch prediction", id)));
	}

	/**
	 * The results file of a batch prediction that succeeded.
	 * @throws ApiException 404 when unknown, 409 while it has not succeeded
	 */
	Path results(UUID id) {
		BatchPredictionView view = get(id);
		if (view.status() != WorkStatus.SUCCEEDED) {
			throw ApiException.conflict(
					"Batch prediction " + id + " is " + view.status() + "; results are available once it SUCCEEDED");
		}
		Path file = dir(id).resolve(RESULTS);
		if (!Files.isRegularFile(file)) {
			throw ApiException.notFound("Results of batch prediction", id);
		}
		return file;
	}

	/**
	 * Converts the JSON Lines results to CSV while streaming: {@code file}, then label
	 * and probability for each rank, then {@code error}; one row per image.
	 */
	void writeCsv(Path results, int topK, OutputStream target) throws IOException {
		Writer out = new BufferedWriter(new java.io.OutputStreamWriter(target, StandardCharsets.UTF_8));
		StringBuilder header = new StringBuilder("file");
		for (int i = 1; i <= topK; i++) {
			header.append(",label_").append(i).append(",probability_").append(i);
		}
		out.write(header.append(",error\n").toString());
		try (BufferedReader in = Files.newBufferedReader(results, StandardCharsets.UTF_8)) {
			for (String line; (line = in.readLine()) != null;) {
				JsonNode node = this.json.readTree(line);
				StringBuilder row = new StringBuilder(csv(node.get("file").asString()));
				JsonNode top = node.get("top");
				for (int i = 0; i < topK; i++) {
					if (top != null && i < top.size()) {
						row.append(',')
							.append(csv(top.get(i).get("label").asString()))
							.append(',')
							.append(top.get(i).get("probability").asDouble());
					}
					else {
						row.append(",,");
					}
				}
				row.append(',').append((node.get("error") != null) ? csv(node.get("error").asString()) : "");
				out.write(row.append('\n').toString());
			}
		}
		out.flush();
	}

	/**
	 * RFC 4180 quoting; a leading formula character is prefixed with a quote so a
	 * spreadsheet does not run a hostile file name.
	 */
	static String csv(String value) {
		String v = value;
		if (!v.isEmpty() && "=+-@\t\r".indexOf(v.charAt(0)) >= 0) {
			v = "'" + v;
		}
		if (v.indexOf(',') >= 0 || v.indexOf('"') >= 0 || v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0
				|| !v.equals(value)) {
			return '"' + v.replace("\"", "\"\"") + '"';
		}
		return v;
	}

	private int topK(String value) {
		if (value == null || value.isBlank()) {
			return 5;
		}
		try {
			int k = Integer.parseInt(value.trim());
			if (k >= 1 && k <= this.properties.maxTopK()) {
				return k;
			}
		}
		catch (NumberFormatException ex) {
			// reported below
		}
		throw invalid("topK", "must be an integer from 1 to " + this.properties.maxTopK());
	}

	private String relative(Path file) {
		return this.artifacts.root().toAbsolutePath().relativize(file.toAbsolutePath()).toString();
	}

	private void write(Writer manifest, Input input) {
		try {
			manifest.write(this.json.writeValueAsString(input));
			manifest.write('\n');
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private BatchPredictionView view(BatchPredictionStore.Row row) {
		double percent = (row.imagesTotal() > 0) ? 100.0 * row.imagesDone() / row.imagesTotal() : 0;
		return new BatchPredictionView(row.id(), row.status(), row.modelId(), row.source(), row.datasetId(), row.topK(),
				new BatchPredictionView.Progress(row.imagesDone(), row.imagesTotal(), row.imagesFailed(), percent,
						row.imagesPerSecond()),
				row.error(), row.attempts(), row.node(),
				(row.status() == WorkStatus.SUCCEEDED) ? "/api/v1/batch-predictions/" + row.id() + "/results" : null,
				row.createdAt(), row.startedAt(), row.finishedAt());
	}

	static void deleteQuietly(Path dir) {
		try {
			ArtifactStore.deleteRecursively(dir);
		}
		catch (IOException ex) {
			// a directory left behind in the artifact store
		}
	}

	private static ApiException invalid(String field, String message) {
		return new ApiException(ProblemType.VALIDATION, "1 problem with the request").with("errors",
				List.of(violation(field, message)));
	}

	private static Map<String, String> violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		return v;
	}

}
