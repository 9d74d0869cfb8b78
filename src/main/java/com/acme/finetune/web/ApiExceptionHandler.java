package com.acme.finetune.web;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.data.core.PropertyReferenceException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.validation.method.ParameterValidationResult;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

import jakarta.validation.ConstraintViolationException;

/**
 * The one place where exceptions become RFC 9457 problem bodies. Every problem carries a
 * stable {@code type} URI from {@link ProblemType}; server errors never leak internals.
 */
@RestControllerAdvice
class ApiExceptionHandler extends ResponseEntityExceptionHandler {

	private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);

	@ExceptionHandler(ApiException.class)
	ResponseEntity<Object> handleApi(ApiException ex, WebRequest request) {
		ProblemDetail body = ProblemDetail.forStatusAndDetail(ex.status(), ex.getMessage());
		body.setType(ex.type().uri());
		body.setTitle(ex.type().title());
		ex.properties().forEach(body::setProperty);
		HttpHeaders headers = new HttpHeaders();
		ex.headers().forEach(headers::set);
		return handleExceptionInternal(ex, body, headers, ex.status(), request);
	}

	@ExceptionHandler(ConstraintViolationException.class)
	ResponseEntity<Object> handleConstraintViolation(ConstraintViolationException ex, WebRequest request) {
		List<Map<String, String>> errors = ex.getConstraintViolations()
			.stream()
			.map((v) -> violation(lastNode(v.getPropertyPath().toString()), v.getMessage()))
			.toList();
		return validationProblem(ex, errors, request);
	}

	@ExceptionHandler(PropertyReferenceException.class)
	ResponseEntity<Object> handleBadSort(PropertyReferenceException ex, WebRequest request) {
		return validationProblem(ex, List.of(violation("sort", "unknown property '" + ex.getPropertyName() + "'")),
				request);
	}

	/**
	 * A multipart body that cannot be parsed (no boundary, truncated, garbage): the
	 * client's fault. Size limits are {@link MaxUploadSizeExceededException}, handled
	 * apart; too many parts is a limit too.
	 */
	@ExceptionHandler(MultipartException.class)
	ResponseEntity<Object> handleBadMultipart(MultipartException ex, WebRequest request) {
		if (mentions(ex, "count")) {
			ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.CONTENT_TOO_LARGE,
					"The multipart request has more parts than the server accepts");
			return handleExceptionInternal(ex, body, new HttpHeaders(), HttpStatus.CONTENT_TOO_LARGE, request);
		}
		ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
				"The multipart request body could not be parsed (a missing boundary, a truncated body or "
						+ "a body that is not multipart/form-data)");
		return handleExceptionInternal(ex, body, new HttpHeaders(), HttpStatus.BAD_REQUEST, request);
	}

	/**
	 * The last line, not the defence: work is bounded before it starts (upload sizes,
	 * pixels, queue bytes), but an {@link Error} that still escapes a request (Spring
	 * hands it over wrapped in a {@code ServletException}) becomes a 507 for memory and a
	 * 503 for anything else, never a 500 or a dead thread. The request's objects are
	 * unreachable once it unwinds, so the heap is whole again for the next one.
	 */
	@ExceptionHandler(Exception.class)
	ResponseEntity<Object> handleUnexpected(Exception ex, WebRequest request) {
		Error error = error(ex);
		if (error != null) {
			log.error("{} while handling {}", error.getClass().getSimpleName(), request.getDescription(false), ex);
			boolean memory = error instanceof OutOfMemoryError;
			HttpStatus status = memory ? HttpStatus.INSUFFICIENT_STORAGE : HttpStatus.SERVICE_UNAVAILABLE;
			ProblemDetail body = ProblemDetail.forStatusAndDetail(status, memory
					? "Not enough memory to complete this request now; retry later or with fewer or smaller inputs"
					: "The request could not be completed now; retry later");
			HttpHeaders headers = new HttpHeaders();
			headers.set(HttpHeaders.RETRY_AFTER, "5");
			return handleExceptionInternal(ex, body, headers, status, request);
		}
		log.error("Unhandled error on {}", request.getDescription(false), ex);
		ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR,
				"An unexpected error occurred; it has been logged.");
		return handleExceptionInternal(ex, body, new HttpHeaders(), HttpStatus.INTERNAL_SERVER_ERROR, request);
	}

	@Override
	protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		List<Map<String, String>> errors = new ArrayList<>();
		ex.getBindingResult().getFieldErrors().forEach((e) -> errors.add(violation(e.getField(), message(e))));
		ex.getBindingResult()
			.getGlobalErrors()
			.forEach((e) -> errors.add(violation(e.getObjectName(), e.getDefaultMessage())));
		return validationProblem(ex, errors, request);
	}

	@Override
	protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		List<Map<String, String>> errors = new ArrayList<>();
		for (ParameterValidationResult result : ex.getParameterValidationResults()) {
			String name = result.getMethodParameter().getParameterName();
			result.getResolvableErrors().forEach((e) -> errors.add(violation(name, e.getDefaultMessage())));
		}
		return validationProblem(ex, errors, request);
	}

	@Override
	protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, readableCause(ex));
		return handleExceptionInternal(ex, body, headers, HttpStatus.BAD_REQUEST, request);
	}

	@Override
	protected ResponseEntity<Object> handleMaxUploadSizeExceededException(MaxUploadSizeExceededException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.CONTENT_TOO_LARGE,
				"The upload exceeds the configured maximum size"
						+ ((ex.getMaxUploadSize() > 0) ? " of " + ex.getMaxUploadSize() + " bytes" : ""));
		return handleExceptionInternal(ex, body, headers, HttpStatus.CONTENT_TOO_LARGE, request);
	}

	@ExceptionHandler(MethodArgumentTypeMismatchException.class)
	ResponseEntity<Object> handleTypeMismatch(MethodArgumentTypeMismatchException ex, WebRequest request) {
		return validationProblem(ex, List.of(violation(ex.getName(), "invalid value '" + ex.getValue() + "'")),
				request);
	}

	/**
	 * Gives every problem built by Spring or by this class a type URI and title from
	 * {@link ProblemType} unless it already has a specific one.
	 */
	@Override
	protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode statusCode,
			WebRequest request) {
		if (body instanceof ProblemDetail problem
				&& (problem.getType() == null || "about:blank".equals(problem.getType().toString()))) {
			ProblemType type = ProblemType.forStatus(statusCode.value());
			problem.setType(type.uri());
			problem.setTitle(type.title());
		}
		return super.createResponseEntity(body, headers, statusCode, request);
	}

	private ResponseEntity<Object> validationProblem(Exception ex, List<Map<String, String>> errors,
			WebRequest request) {
		ProblemDetail body = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
				errors.size() + " validation error" + ((errors.size() == 1) ? "" : "s") + " in the request");
		body.setType(ProblemType.VALIDATION.uri());
		body.setTitle(ProblemType.VALIDATION.title());
		body.setProperty("errors", errors);
		return handleExceptionInternal(ex, body, new HttpHeaders(), HttpStatus.BAD_REQUEST, request);
	}

	/** The first {@link Error} in a cause chain, or null. */
	private static Error error(Throwable ex) {
		for (Throwable t = ex; t != null; t = (t.getCause() != t) ? t.getCause() : null) {
			if (t instanceof Error error) {
				return error;
			}
		}
		return null;
	}

	private static boolean mentions(Throwable ex, String word) {
		for (Throwable t = ex.getCause(); t != null; t = (t.getCause() != t) ? t.getCause() : null) {
			if (t.getMessage() != null && t.getMessage().toLowerCase(java.util.Locale.ROOT).contains(word)) {
				return true;
			}
		}
		return false;
	}

	private static Map<String, String> violation(String field, String message) {
		return Map.of("field", (field != null) ? field : "", "message", (message != null) ? message : "invalid");
	}

	private static String message(FieldError error) {
		if (error.isBindingFailure()) {
			return "invalid value '" + error.getRejectedValue() + "'";
		}
		return error.getDefaultMessage();
	}

	private static String lastNode(String path) {
		int dot = path.indexOf('.');
		return (dot >= 0) ? path.substring(dot + 1) : path;
	}

	/** A parse error's message without class names or stack details. */
	private static String readableCause(HttpMessageNotReadableException ex) {
		String message = (ex.getMostSpecificCause() != null) ? ex.getMostSpecificCause().getMessage() : null;
		if (message == null) {
			return "The request body is missing or not valid JSON";
		}
		int newline = message.indexOf('\n');
		message = (newline > 0) ? message.substring(0, newline) : message;
		message = message.replaceAll("\\(class [^)]*\\)", "").replaceAll("`[a-z]+(\\.[A-Za-z0-9_$]+)+`", "");
		return "The request body could not be read: " + message.trim();
	}

}
