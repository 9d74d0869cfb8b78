package com.acme.finetune.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.springframework.data.domain.PageRequest;
import org.springframework.data.domain.Pageable;
import org.springframework.data.domain.Sort;

/**
 * The {@code page}, {@code size} and {@code sort} of a list request, checked the same way
 * on every list endpoint: out-of-range values are a 400 listing every violation (never
 * clamped silently, never an overflow into a 500), and {@code sort} is
 * {@code field[,asc|desc]} with the field taken from the endpoint's allow-list, so no
 * nested path, function or column the client should not see reaches the database.
 *
 * @param page zero-based page number
 * @param size items per page, 1 to {@link #MAX_SIZE}
 * @param sort the order, with {@code id} as the tie-breaker so pages never overlap
 */
public record Paging(int page, int size, Sort sort) {

	/** The largest page size any list endpoint serves. */
	public static final int MAX_SIZE = 100;

	/** How much of an invalid {@code sort} is quoted back. */
	private static final int ECHO_LIMIT = 60;

	/**
	 * Checks a list request's paging parameters.
	 * @param sortable the API's sortable field names mapped to the properties they sort
	 * by
	 * @param sortParam the client's {@code sort}, or null for {@code defaultSort}
	 * @param defaultSort the order without a {@code sort}; null for the source's own
	 * order
	 * @throws ApiException 400 {@code validation-error} listing every violation
	 */
	public static Paging of(int page, int size, String sortParam, Map<String, String> sortable, String defaultSort) {
		return of(page, size, sortParam, sortable, defaultSort, "id");
	}

	/**
	 * As {@link #of(int, int, String, Map, String)} for a source whose unique property
	 * (the tie-breaker of every order) is {@code unique} rather than {@code id}.
	 */
	public static Paging of(int page, int size, String sortParam, Map<String, String> sortable, String defaultSort,
			String unique) {
		List<Map<String, String>> errors = new ArrayList<>();
		if (page < 0) {
			errors.add(violation("page", "must be at least 0"));
		}
		if (size < 1 || size > MAX_SIZE) {
			errors.add(violation("size", "must be between 1 and " + MAX_SIZE));
		}
		else if ((long) page * size > Integer.MAX_VALUE) {
			errors.add(violation("page", "must be at most " + (Integer.MAX_VALUE / size) + " with size " + size
					+ " (no list reaches further)"));
		}
		String requested = (sortParam != null && !sortParam.isBlank()) ? sortParam : defaultSort;
		Sort sort = (requested != null) ? parseSort(requested, sortable, unique) : Sort.unsorted();
		if (sort == null) {
			errors.add(violation("sort",
					"must be one of " + String.join(", ", sortable.keySet().stream().sorted().toList())
							+ ", optionally followed by ,asc or ,desc (got '" + echo(requested) + "')"));
		}
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION,
					errors.size() + " validation error" + ((errors.size() == 1) ? "" : "s") + " in the request")
				.with("errors", errors);
		}
		return new Paging(page, size, sort);
	}

	/** The Spring Data page request for a repository query. */
	public Pageable pageable() {
		return PageRequest.of(this.page, this.size, this.sort);
	}

	/** {@code field[,asc|desc]}, null when it is anything else. */
	private static Sort parseSort(String sort, Map<String, String> sortable, String unique) {
		String[] parts = sort.split(",", -1);
		if (parts.length > 2) {
			return null;
		}
		String property = sortable.get(parts[0].strip());
		String direction = (parts.length > 1) ? parts[1].strip().toLowerCase(Locale.ROOT) : "asc";
		if (property == null || !(direction.equals("asc") || direction.equals("desc"))) {
			return null;
		}
		Sort result = Sort.by(direction.equals("asc") ? Sort.Direction.ASC : Sort.Direction.DESC, property);
		return property.equals(unique) ? result : result.and(Sort.by(unique));
	}

	private static String echo(String value) {
		String printable = value.replaceAll("\\p{Cntrl}", "?");
		return (printable.length() > ECHO_LIMIT) ? printable.substring(0, ECHO_LIMIT) + "…" : printable;
	}

	private static Map<String, String> violation(String field, String message) {
		Map<String, String> violation = new LinkedHashMap<>();
		violation.put("field", field);
		violation.put("message", message);
		return violation;
	}

}
