package com.acme.finetune.web;

import java.util.List;
import java.util.function.Function;

import org.springframework.data.domain.Page;

/**
 * The reply of every list endpoint: {@code items} plus paging facts.
 */
public record PageResponse<T>(List<T> items, int page, int size, long totalItems) {

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
