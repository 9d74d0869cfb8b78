package com.acme.finetune.web;

import java.net.URI;

import org.springframework.http.HttpStatus;

/**
 * Every kind of error the API returns, each with a stable {@code type} URI that clients
 * can switch on. The slugs are part of the public contract: add new ones, never rename.
 */
public enum ProblemType {

	VALIDATION("validation-error", "Request validation failed", HttpStatus.BAD_REQUEST),
	MALFORMED_REQUEST("malformed-request", "Malformed request", HttpStatus.BAD_REQUEST),
	NOT_FOUND("not-found", "Resource not found", HttpStatus.NOT_FOUND),
	METHOD_NOT_ALLOWED("method-not-allowed", "Method not allowed", HttpStatus.METHOD_NOT_ALLOWED),
	NOT_ACCEPTABLE("not-acceptable", "Not acceptable", HttpStatus.NOT_ACCEPTABLE),
	CONFLICT("conflict", "Conflict with the resource's current state", HttpStatus.CONFLICT),
	IDEMPOTENCY_KEY_REUSED("idempotency-key-reused", "Idempotency key reused with a different request",
			HttpStatus.UNPROCESSABLE_CONTENT),
	PRECONDITION_FAILED("precondition-failed", "A precondition (If-Match or If-None-Match) failed",
			HttpStatus.PRECONDITION_FAILED),
	PAYLOAD_TOO_LARGE("payload-too-large", "Payload too large", HttpStatus.CONTENT_TOO_LARGE),
	UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", "Unsupported media type", HttpStatus.UNSUPPORTED_MEDIA_TYPE),

	INVALID_ARCHIVE("invalid-archive", "Not a readable zip or tar.gz archive", HttpStatus.UNSUPPORTED_MEDIA_TYPE),
	UNSAFE_ARCHIVE("unsafe-archive", "Archive entry escapes the dataset root", HttpStatus.BAD_REQUEST),
	ARCHIVE_TOO_LARGE("archive-too-large", "Archive exceeds the extraction limits", HttpStatus.CONTENT_TOO_LARGE),
	INVALID_IMAGES("invalid-images", "One or more files are not valid images", HttpStatus.UNPROCESSABLE_CONTENT),
	INVALID_DATASET_LAYOUT("invalid-dataset-layout", "The archive's layout is not a usable image dataset",
			HttpStatus.UNPROCESSABLE_CONTENT),
	INVALID_IMAGE("invalid-image", "Not a valid image", HttpStatus.UNPROCESSABLE_CONTENT),
	UNSUPPORTED_IMAGE("unsupported-image", "Not an image in a supported format", HttpStatus.UNSUPPORTED_MEDIA_TYPE),
	IMAGE_TOO_LARGE("image-too-large", "Image exceeds the pixel limit", HttpStatus.UNPROCESSABLE_CONTENT),
	CORRUPT_ARCHIVE("corrupt-archive", "The archive is corrupt or truncated", HttpStatus.UNPROCESSABLE_CONTENT),
	NESTED_ARCHIVE("nested-archive", "The archive contains other archives", HttpStatus.UNPROCESSABLE_CONTENT),
	DATASET_IN_USE("dataset-in-use", "The dataset is used by an active job", HttpStatus.CONFLICT),
	BASE_MODEL_IN_USE("base-model-in-use", "An active job starts from this model or backbone", HttpStatus.CONFLICT),
	ALIASED_MODEL("aliased-model", "An alias of a registered model points to it", HttpStatus.CONFLICT),
	UNKNOWN_LABELS("unknown-labels", "The dataset has labels the model does not know",
			HttpStatus.UNPROCESSABLE_CONTENT),
	BACKBONE_UNAVAILABLE("backbone-unavailable", "Base model is not available", HttpStatus.UNPROCESSABLE_CONTENT),
	INVALID_MODEL_FILE("invalid-model-file", "Not a usable TorchScript model", HttpStatus.UNPROCESSABLE_CONTENT),
	NOT_EXPLAINABLE("not-explainable", "The model's network cannot be explained with Grad-CAM",
			HttpStatus.UNPROCESSABLE_CONTENT),

	UNAUTHORIZED("unauthorized", "Authentication required", HttpStatus.UNAUTHORIZED),
	FORBIDDEN("forbidden", "Access denied", HttpStatus.FORBIDDEN),
	SERVICE_BUSY("service-busy", "Service busy, retry later", HttpStatus.SERVICE_UNAVAILABLE),
	INSUFFICIENT_STORAGE("insufficient-storage", "Not enough memory or storage", HttpStatus.INSUFFICIENT_STORAGE),
	INTERNAL("internal-error", "Internal server error", HttpStatus.INTERNAL_SERVER_ERROR);

	/** Base of every problem type URI. */
	public static final String BASE_URI = "https://finetune.acme.dev/problems/";

	private final URI uri;

	private final String title;

	private final HttpStatus status;

	ProblemType(String slug, String title, HttpStatus status) {
		this.uri = URI.create(BASE_URI + slug);
		this.title = title;
		this.status = status;
	}

	public URI uri() {
		return this.uri;
	}

	public String title() {
		return this.title;
	}

	public HttpStatus status() {
		return this.status;
	}

	/** The problem type used for a plain HTTP status with no more specific meaning. */
	public static ProblemType forStatus(int status) {
		return switch (status) {
			case 400 -> MALFORMED_REQUEST;
			case 401 -> UNAUTHORIZED;
			case 403 -> FORBIDDEN;
			case 404 -> NOT_FOUND;
			case 405 -> METHOD_NOT_ALLOWED;
			case 406 -> NOT_ACCEPTABLE;
			case 409 -> CONFLICT;
			case 412 -> PRECONDITION_FAILED;
			case 413 -> PAYLOAD_TOO_LARGE;
			case 415 -> UNSUPPORTED_MEDIA_TYPE;
			case 422 -> VALIDATION;
			case 503 -> SERVICE_BUSY;
			case 507 -> INSUFFICIENT_STORAGE;
			default -> (status >= 500) ? INTERNAL : MALFORMED_REQUEST;
		};
	}

}
