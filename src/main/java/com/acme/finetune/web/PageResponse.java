package com.acme.finetune.web;

import java.util.List;
import java.util.function.Function;

import io.swagger.v3.oas.annotations.media.Schema;
import org.jspecify.annotations.Nullable;

import org.springframework.data.domain.Page;

/**
 * The reply of every list endpoint: {@code items} plus paging facts.
 *
 * @param page the offset page number; 0 for a page reached by {@code pageToken}
 * @param nextPageToken pass as {@code pageToken} for the next page; absent (null) on the
 * last page and for orders a cursor cannot follow
 */
public record PageResponse<T>(
		List<T> items, int page, int size, long totalItems, @Schema(
				description = "Pass as pageToken to get the next page; null on the last page and for orders a "
						+ "cursor cannot follow (see the operation's sort)",
				nullable = true) @Nullable String nextPageToken) {

	/** An offset page without a cursor. */
	public PageResponse(List<T> items, int page, int size, long totalItems) {
		this(items, page, size, totalItems, null);
	}

	public static <E, T> PageResponse<T> of(Page<E> page, Function<E, T> mapper) {
		return new PageResponse<>(page.getContent().stream().map(mapper).toList(), page.getNumber(), page.getSize(),
				page.getTotalElements());
	}

	/** One page of a list held in memory (already in its order). */
	public static <T> PageResponse<T> slice(List<T> all, Paging paging) {
		long from = Math.min((long) paging.page() * paging.size(), all.size());
		long to = Math.min(from + paging.size(), all.size());
		return new PageResponse<>(List.copyOf(all.subList((int) from, (int) to)), paging.page(), paging.size(),
				all.size());
	}

}
