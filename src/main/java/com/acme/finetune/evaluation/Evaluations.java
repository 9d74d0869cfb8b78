package com.acme.finetune.evaluation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import com.acme.finetune.dataset.DatasetService;
import com.acme.finetune.dataset.DatasetSummary;
import com.acme.finetune.job.WorkQueue;
import com.acme.finetune.model.ModelCatalog;
import com.acme.finetune.model.ModelView;
import com.acme.finetune.registry.RegisteredModels;
import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.IdempotencyKeys;
import com.acme.finetune.web.PageResponse;
import com.acme.finetune.web.Paging;
import com.acme.finetune.web.ProblemType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Evaluation runs: checked and queued here, run by {@link EvaluationWork} on a worker.
 */
@Service
public class Evaluations {

	static final String KIND = "evaluation";

	static final Set<String> SPLITS = Set.of("all", "validation");

	private final EvaluationStore store;

	private final ModelCatalog models;

	private final DatasetService datasets;

	private final RegisteredModels registry;

	private final WorkQueue queue;

	private final TransactionTemplate transaction;

	private final IdempotencyKeys idempotency;

	private final ObjectMapper json;

	Evaluations(EvaluationStore store, ModelCatalog models, DatasetService datasets, RegisteredModels registry,
			WorkQueue queue, TransactionTemplate transaction, IdempotencyKeys idempotency, ObjectMapper json) {
		this.store = store;
		this.models = models;
		this.datasets = datasets;
		this.registry = registry;
		this.queue = queue;
		this.transaction = transaction;
		this.idempotency = idempotency;
		this.json = json;
	}

	/** What {@code POST …/evaluations} asks for. */
	record Request(UUID datasetId, String split) {
	}

	/** Queues an evaluation of a model by id. */
	EvaluationView create(UUID modelId, JsonNode body, String idempotencyKey) {
		Request request = parse(body);
		ModelView model = this.models.get(modelId);
		check(model, request);
		return this.idempotency.once("evaluations", idempotencyKey, "model:" + modelId + "|" + request,
				(claim) -> insert(modelId, null, null, null, request, claim), this::get);
	}

	/**
	 * Queues an evaluation of what a registered model's alias points to. The alias is
	 * checked now and resolved again when the evaluation starts: the evaluation scores
	 * the version the alias names at that moment, and records it.
	 */
	EvaluationView createForAlias(String name, String alias, JsonNode body, String idempotencyKey) {
		Request request = parse(body);
		RegisteredModels.Target target = this.registry.resolveAlias(name, alias);
		check(this.models.get(target.modelId()), request);
		return this.idempotency.once("evaluations", idempotencyKey, "alias:" + name + "@" + alias + "|" + request,
				(claim) -> insert(target.modelId(), name, alias, target.version(), request, claim), this::get);
	}

	private UUID insert(UUID modelId, String name, String alias, Integer version, Request request,
			IdempotencyKeys.Claim claim) {
		UUID id = UUID.randomUUID();
		this.transaction.executeWithoutResult((tx) -> {
			this.store.insert(id, modelId, name, alias, version, request.datasetId(), request.split());
			this.queue.enqueue(KIND, id);
			claim.complete(id);
		});
		return id;
	}

	/**
	 * The dataset exists, has images in the split, and all its labels are the model's.
	 */
	private void check(ModelView model, Request request) {
		DatasetSummary dataset;
		try {
			dataset = this.datasets.find(request.datasetId());
		}
		catch (ApiException ex) {
			throw new ApiException(ProblemType.VALIDATION, "Dataset " + request.datasetId() + " does not exist")
				.with("errors", List.of(Map.of("field", "datasetId", "message", "no such dataset")));
		}
		Set<String> unknown = new TreeSet<>(dataset.classes());
		unknown.removeAll(model.labels());
		if (!unknown.isEmpty()) {
			throw new ApiException(ProblemType.UNKNOWN_LABELS,
					"Model " + model.id() + " does not know the label(s) " + String.join(", ", unknown) + " of dataset "
							+ dataset.id() + "; it knows " + String.join(", ", model.labels()))
				.with("unknownLabels", List.copyOf(unknown))
				.with("modelLabels", model.labels());
		}
		if ("validation".equals(request.split()) && dataset.split().validation() == 0) {
			throw new ApiException(ProblemType.VALIDATION, "Dataset " + dataset.id() + " has no validation images")
				.with("errors",
						List.of(Map.of("field", "split", "message", "the dataset's validation split is empty")));
		}
	}

	static Request parse(JsonNode body) {
		if (body == null || !body.isObject()) {
			throw new ApiException(ProblemType.VALIDATION, "The body must be a JSON object").with("errors",
					List.of(Map.of("field", "", "message", "must be a JSON object")));
		}
		List<Map<String, String>> errors = new ArrayList<>();
		for (String field : body.propertyNames()) {
			if (!"datasetId".equals(field) && !"split".equals(field)) {
				errors.add(violation(field, "unknown field"));
			}
		}
		UUID datasetId = null;
		JsonNode id = body.get("datasetId");
		if (id == null || id.isNull()) {
			errors.add(violation("datasetId", "is required"));
		}
		else if (!id.isString()) {
			errors.add(violation("datasetId", "must be a UUID string"));
		}
		else {
			try {
				datasetId = UUID.fromString(id.asString());
			}
			catch (IllegalArgumentException ex) {
				errors.add(violation("datasetId", "must be a UUID"));
			}
		}
		String split = "all";
		JsonNode s = body.get("split");
		if (s != null && !s.isNull()) {
			if (!s.isString() || !SPLITS.contains(s.asString())) {
				errors.add(violation("split", "must be one of all, validation"));
			}
			else {
				split = s.asString();
			}
		}
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION, errors.size() + " problem(s) with the evaluation request")
				.with("errors", errors);
		}
		return new Request(datasetId, split);
	}

	private static Map<String, String> violation(String field, String message) {
		Map<String, String> v = new LinkedHashMap<>();
		v.put("field", field);
		v.put("message", message);
		return v;
	}

	/**
	 * The evaluation with every number.
	 * @throws ApiException 404 when there is none
	 */
	public EvaluationView get(UUID id) {
		return view(this.store.find(id).orElseThrow(() -> ApiException.notFound("Evaluation", id)), true);
	}

	/** The stored mistake thumbnails (data URIs by file), empty when none. */
	public Map<String, String> thumbnails(UUID id) {
		Optional<String> stored = this.store.thumbnails(id);
		if (stored.isEmpty() || stored.get() == null) {
			return Map.of();
		}
		Map<String, String> thumbnails = new LinkedHashMap<>();
		this.json.readTree(stored.get())
			.properties()
			.forEach((e) -> thumbnails.put(e.getKey(), e.getValue().asString()));
		return thumbnails;
	}

	/** The model's evaluations, summaries only, for comparing runs. */
	PageResponse<EvaluationView> list(UUID modelId, Paging paging) {
		this.models.get(modelId);
		StringBuilder order = new StringBuilder();
		paging.sort()
			.forEach((o) -> order.append(column(o.getProperty()))
				.append(o.isAscending() ? " asc" : " desc")
				.append(", "));
		order.setLength(Math.max(0, order.length() - 2));
		List<EvaluationView> items = this.store
			.byModel(modelId, order.toString(), paging.size(), (long) paging.page() * paging.size())
			.stream()
			.map((row) -> view(row, false))
			.toList();
		return new PageResponse<>(items, paging.page(), paging.size(), this.store.countByModel(modelId));
	}

	private static String column(String property) {
		return switch (property) {
			case "createdAt" -> "created_at";
			case "finishedAt" -> "finished_at";
			case "status" -> "status";
			case "id" -> "id";
			default -> throw new IllegalArgumentException(property);
		};
	}

	private EvaluationView view(EvaluationStore.Row row, boolean full) {
		JsonNode result = (row.result() != null) ? this.json.readTree(row.result()) : null;
		EvaluationView.Summary summary = null;
		if (result != null) {
			summary = new EvaluationView.Summary(result.get("images").asInt(), result.get("accuracy").asDouble(),
					result.get("topKAccuracy").asDouble(), result.get("topK").asInt(), result.get("macroF1").asDouble(),
					result.get("calibration").get("expectedCalibrationError").asDouble(), result.get("failed").size());
		}
		EvaluationView.RegisteredModel registered = (row.registeredName() != null)
				? new EvaluationView.RegisteredModel(row.registeredName(), row.alias(), row.modelVersion()) : null;
		double percent = (row.imagesTotal() > 0) ? 100.0 * row.imagesDone() / row.imagesTotal()
				: (row.status() == WorkStatus.SUCCEEDED ? 100.0 : 0.0);
		return new EvaluationView(row.id(), row.status(), row.modelId(), registered, row.datasetId(), row.split(),
				new EvaluationView.Progress(row.imagesDone(), row.imagesTotal(), percent), summary,
				full ? result : null, row.error(), row.attempts(), row.node(), row.createdAt(), row.startedAt(),
				row.finishedAt());
	}

}
