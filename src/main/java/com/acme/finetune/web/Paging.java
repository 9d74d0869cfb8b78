package com.acme.finetune.web;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

import jakarta.persistence.criteria.CriteriaBuilder;
import jakarta.persistence.criteria.Path;
import jakarta.persistence.criteria.Predicate;
import jakarta.persistence.criteria.Root;
import org.jspecify.annotations.Nullable;

import org.springframework.data.domain.Page;
import org.springframework.data.domain.PageRequest;
import org.springframework.data.domain.Pageable;
import org.springframework.data.domain.Sort;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.data.jpa.repository.JpaSpecificationExecutor;

/**
 * The {@code page}, {@code size}, {@code sort} and {@code pageToken} of a list request,
 * checked the same way on every list endpoint: out-of-range values are a 400 listing
 * every violation (never clamped silently, never an overflow into a 500), and
 * {@code sort} is {@code field[,asc|desc]} with the field taken from the endpoint's
 * allow-list, so no nested path, function or column the client should not see reaches the
 * database.
 * <p>
 * Two ways through a list: offset paging ({@code page}, kept for compatibility) and
 * cursor paging ({@code pageToken} from the previous reply's {@code nextPageToken}).
 * Cursors follow a stable order (creation time then id, or the list's unique key) by
 * keyset, so items created or deleted meanwhile never shift a page or repeat an item. A
 * token is bound to its list, filter and order: one that was altered, truncated or
 * belongs elsewhere is a 400.
 *
 * @param page zero-based page number (0 when the page is reached by token)
 * @param size items per page, 1 to {@link #MAX_SIZE}
 * @param sort the order, with the unique property as the tie-breaker so pages never
 * overlap
 * @param listing the list's paging rules; null for lists without cursors
 * @param filter the list's filter as text (part of the token, so a token cannot be reused
 * with another filter)
 * @param after the position a {@code pageToken} resumes after; null for offset paging
 */
public record Paging(int page, int size, Sort sort, @Nullable Listing listing, String filter,
		@Nullable PageToken after) {

	/** The largest page size any list endpoint serves. */
	public static final int MAX_SIZE = 100;

	/** How much of an invalid {@code sort} is quoted back. */
	private static final int ECHO_LIMIT = 60;

	/** Offset paging only, as before cursors. */
	public Paging(int page, int size, Sort sort) {
		this(page, size, sort, null, "", null);
	}

	/**
	 * How one list pages.
	 *
	 * @param name the list's name in its tokens (a token of one list is refused by
	 * another)
	 * @param sortable the API's sortable field names mapped to the properties they sort
	 * by
	 * @param defaultSort the order without a {@code sort}; null for the source's own
	 * order (in-memory lists)
	 * @param unique the unique property, the tie-breaker of every order
	 * @param cursorProperties the properties whose order a cursor can follow (stable and
	 * never null: creation time, the unique key)
	 */
	public record Listing(String name, Map<String, String> sortable, @Nullable String defaultSort, String unique,
			Set<String> cursorProperties) {

		/**
		 * The usual list of resources with ids: any sortable field by offset, cursors in
		 * creation order ({@code createdAt} then {@code id}).
		 */
		public static Listing byCreation(String name, Map<String, String> sortable, String defaultSort) {
			return new Listing(name, sortable, defaultSort, "id", Set.of("createdAt"));
		}

	}

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
		return of(new Listing("", sortable, defaultSort, unique, Set.of()), "", page, size, sortParam, null);
	}

	/**
	 * Checks a list request's paging parameters, cursor included.
	 * @param filter the request's filter as text ("" for none)
	 * @param pageToken the client's {@code pageToken}, or null for offset paging
	 * @throws ApiException 400 {@code validation-error} listing every violation
	 */
	public static Paging of(Listing listing, String filter, int page, int size, @Nullable String sortParam,
			@Nullable String pageToken) {
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
		String requested = (sortParam != null && !sortParam.isBlank()) ? sortParam : listing.defaultSort();
		Map<String, String> parseable = listing.sortable();
		if (sortParam == null || sortParam.isBlank()) {
			// the default may order by a property clients cannot name (alias history by
			// id)
			parseable = new LinkedHashMap<>(listing.sortable());
			parseable.putIfAbsent(listing.unique(), listing.unique());
		}
		Sort sort = (requested != null) ? parseSort(requested, parseable, listing.unique()) : Sort.unsorted();
		if (sort == null) {
			errors.add(violation("sort",
					"must be one of " + String.join(", ", listing.sortable().keySet().stream().sorted().toList())
							+ ", optionally followed by ,asc or ,desc (got '" + echo(requested) + "')"));
		}
		PageToken after = null;
		if (pageToken != null && !pageToken.isEmpty()) {
			after = PageToken.decode(pageToken);
			if (after == null) {
				errors.add(violation("pageToken", "is not a page token this service issued (altered or truncated?); "
						+ "start again without pageToken"));
			}
			else if (!after.list().equals(listing.name()) || !after.filter().equals(filter)) {
				errors.add(violation("pageToken", "belongs to another list or filter; start again without pageToken"));
				after = null;
			}
			else if (sort != null && !after.order().equals(order(sort))) {
				errors.add(violation("pageToken",
						"was issued for another sort; send the same sort as the first page, or none"));
				after = null;
			}
			if (page != 0) {
				errors.add(violation("page", "must be left out with pageToken (the token holds the position)"));
			}
			if (sort != null && !cursorable(listing, sort)) {
				errors.add(violation("sort", "cannot be followed by a pageToken; cursors follow " + cursorNames(listing)
						+ " (use page with other orders)"));
			}
		}
		if (!errors.isEmpty()) {
			throw new ApiException(ProblemType.VALIDATION,
					errors.size() + " validation error" + ((errors.size() == 1) ? "" : "s") + " in the request")
				.with("errors", errors);
		}
		return new Paging(page, size, sort, listing, filter, after);
	}

	/** The Spring Data page request for a repository query. */
	public Pageable pageable() {
		return PageRequest.of(this.page, this.size, this.sort);
	}

	/** Whether replies carry a {@code nextPageToken}. */
	public boolean cursorable() {
		return this.listing != null && !this.listing.name().isEmpty() && cursorable(this.listing, this.sort);
	}

	/**
	 * Reads one page from a repository: by offset, or after the token's position by
	 * keyset.
	 * @param filter the list's filter
	 * @param keys the entity's values of the sort properties (each of the listing's
	 * cursor properties and its unique property)
	 */
	public <E> Window<E> read(JpaSpecificationExecutor<E> repository, Specification<E> filter,
			Function<E, Map<String, Object>> keys) {
		if (this.after == null) {
			Page<E> found = repository.findAll(filter, pageable());
			String next = (cursorable() && found.hasNext() && found.hasContent())
					? token(keys.apply(found.getContent().get(found.getContent().size() - 1))) : null;
			return new Window<>(found.getContent(), found.getNumber(), found.getSize(), found.getTotalElements(), next);
		}
		List<String> values = this.after.keys();
		Specification<E> afterPosition = (root, query, cb) -> after(root, cb, values);
		List<E> rows = repository.findBy(filter.and(afterPosition),
				(q) -> q.sortBy(this.sort).limit(this.size + 1).all());
		boolean more = rows.size() > this.size;
		List<E> content = more ? List.copyOf(rows.subList(0, this.size)) : rows;
		String next = (more) ? token(keys.apply(content.get(content.size() - 1))) : null;
		return new Window<>(content, 0, this.size, repository.count(filter), next);
	}

	/**
	 * One page of a list held in memory, already in its order; {@code key} is each item's
	 * unique key, where a token resumes.
	 */
	public <T> Window<T> slice(List<T> all, Function<T, String> key) {
		long from = Math.min((long) this.page * this.size, all.size());
		if (this.after != null) {
			String last = this.after.keys().isEmpty() ? "" : this.after.keys().get(0);
			int index = -1;
			for (int i = 0; i < all.size(); i++) {
				if (key.apply(all.get(i)).equals(last)) {
					index = i;
					break;
				}
			}
			if (index < 0) {
				throw invalidToken("points at an item that no longer exists; start again without pageToken");
			}
			from = index + 1;
		}
		long to = Math.min(from + this.size, all.size());
		List<T> content = List.copyOf(all.subList((int) from, (int) to));
		String next = (cursorable() && to < all.size() && !content.isEmpty()) ? new PageToken(this.listing.name(),
				this.filter, order(this.sort), List.of(key.apply(content.get(content.size() - 1))))
			.encode() : null;
		return new Window<>(content, (this.after != null) ? 0 : this.page, this.size, all.size(), next);
	}

	/**
	 * One page and where it stands.
	 *
	 * @param page the offset page number; 0 for a page reached by token
	 * @param nextPageToken the token of the next page; null on the last page, or when the
	 * order cannot be followed by a cursor
	 */
	public record Window<E>(List<E> content, int page, int size, long totalItems, @Nullable String nextPageToken) {

		public <T> PageResponse<T> map(Function<E, T> mapper) {
			return new PageResponse<>(this.content.stream().map(mapper).toList(), this.page, this.size, this.totalItems,
					this.nextPageToken);
		}

		/** With items mapped all at once (lists that look up related rows per page). */
		public <T> PageResponse<T> withItems(List<T> items) {
			return new PageResponse<>(items, this.page, this.size, this.totalItems, this.nextPageToken);
		}

	}

	private String token(Map<String, Object> keys) {
		List<String> values = new ArrayList<>();
		for (Sort.Order order : this.sort) {
			Object value = keys.get(order.getProperty());
			if (value == null) {
				// a null sort key cannot be a keyset position: no token rather than a
				// wrong one
				return null;
			}
			values.add(String.valueOf(value));
		}
		return new PageToken(this.listing.name(), this.filter, order(this.sort), values).encode();
	}

	/**
	 * The keyset condition: after (o1, o2, …) in the sort's directions, i.e. o1 past v1,
	 * or o1 = v1 and o2 past v2, and so on.
	 */
	private <E> Predicate after(Root<E> root, CriteriaBuilder cb, List<String> values) {
		List<Sort.Order> orders = this.sort.toList();
		if (values.size() != orders.size()) {
			throw invalidToken("does not match this list's order; start again without pageToken");
		}
		List<Predicate> alternatives = new ArrayList<>();
		List<Predicate> equalSoFar = new ArrayList<>();
		for (int i = 0; i < orders.size(); i++) {
			Sort.Order order = orders.get(i);
			Path<Comparable<Object>> path = root.get(order.getProperty());
			Comparable<Object> value = parse(values.get(i), path.getJavaType());
			Predicate past = order.isAscending() ? cb.greaterThan(path, value) : cb.lessThan(path, value);
			List<Predicate> conjunction = new ArrayList<>(equalSoFar);
			conjunction.add(past);
			alternatives.add(cb.and(conjunction.toArray(Predicate[]::new)));
			equalSoFar.add(cb.equal(path, value));
		}
		return cb.or(alternatives.toArray(Predicate[]::new));
	}

	@SuppressWarnings({ "unchecked", "rawtypes" })
	private static Comparable<Object> parse(String value, Class<?> type) {
		try {
			Object parsed;
			if (type == Instant.class) {
				parsed = Instant.parse(value);
			}
			else if (type == UUID.class) {
				parsed = UUID.fromString(value);
			}
			else if (type == Long.class || type == long.class) {
				parsed = Long.valueOf(value);
			}
			else if (type == Integer.class || type == int.class) {
				parsed = Integer.valueOf(value);
			}
			else if (type == String.class) {
				parsed = value;
			}
			else if (type.isEnum()) {
				parsed = Enum.valueOf((Class) type, value);
			}
			else {
				throw new IllegalStateException("No cursor over " + type.getName());
			}
			return (Comparable<Object>) parsed;
		}
		catch (DateTimeParseException | IllegalArgumentException ex) {
			throw invalidToken("is not a page token this service issued (altered?); start again without pageToken");
		}
	}

	private static ApiException invalidToken(String message) {
		return new ApiException(ProblemType.VALIDATION, "1 validation error in the request").with("errors",
				List.of(violation("pageToken", message)));
	}

	private static boolean cursorable(Listing listing, Sort sort) {
		if (sort.isUnsorted()) {
			return listing.defaultSort() == null;
		}
		return listing.cursorProperties().contains(sort.iterator().next().getProperty());
	}

	private static String cursorNames(Listing listing) {
		List<String> names = new ArrayList<>();
		listing.sortable().forEach((name, property) -> {
			if (listing.cursorProperties().contains(property)) {
				names.add(name);
			}
		});
		return names.isEmpty() ? "the default order" : String.join(" or ", names.stream().sorted().toList());
	}

	/** The order as text, e.g. {@code createdAt:DESC,id:ASC}. */
	private static String order(Sort sort) {
		StringBuilder text = new StringBuilder();
		for (Sort.Order order : sort) {
			if (!text.isEmpty()) {
				text.append(',');
			}
			text.append(order.getProperty()).append(':').append(order.getDirection());
		}
		return text.toString();
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
		Sort.Direction dir = direction.equals("asc") ? Sort.Direction.ASC : Sort.Direction.DESC;
		Sort result = Sort.by(dir, property);
		// the tie-breaker runs the same way, so a keyset is one direction throughout
		return property.equals(unique) ? result : result.and(Sort.by(dir, unique));
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
