package com.acme.finetune.sweep;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The dimensions a sweep searches, each over one job-spec path: {@code choice} (any JSON
 * values), {@code uniform} and {@code logUniform} (real numbers between two bounds),
 * {@code intUniform} (every integer between two bounds, both included). Paths and values
 * are checked against the job spec elsewhere ({@link SweepSpecParser},
 * {@link SearchSpaceParser}); this type samples and enumerates.
 */
record SearchSpace(List<Dimension> dimensions) {

	/** The most grid points a sweep may enumerate. */
	static final int MAX_GRID = 10_000;

	SearchSpace {
		dimensions = List.copyOf(dimensions);
	}

	/** One dimension: a path and the values it may take. */
	sealed interface Dimension {

		String path();

		/** A value drawn uniformly (log-uniformly for {@code logUniform}). */
		JsonNode sample(Random random);

		/**
		 * The values that stand for the whole range when checking it against the spec.
		 */
		List<JsonNode> probes();

		/** Whether a grid can enumerate it. */
		boolean discrete();

		/** The grid's values ({@link #discrete()} dimensions only). */
		List<JsonNode> gridValues();

		/** The kind as the API spells it. */
		String kind();

	}

	record Choice(String path, List<JsonNode> values) implements Dimension {

		@Override
		public JsonNode sample(Random random) {
			return this.values.get(random.nextInt(this.values.size()));
		}

		@Override
		public List<JsonNode> probes() {
			return this.values;
		}

		@Override
		public boolean discrete() {
			return true;
		}

		@Override
		public List<JsonNode> gridValues() {
			return this.values;
		}

		@Override
		public String kind() {
			return "choice";
		}

	}

	/**
	 * A real range; {@code log} samples uniformly in log space (both bounds positive).
	 */
	record Uniform(String path, double low, double high, boolean log) implements Dimension {

		@Override
		public JsonNode sample(Random random) {
			return JsonNodeFactory.instance.numberNode(fromUnit(random.nextDouble()));
		}

		/** The value at a position in [0, 1] of the (log) range. */
		double fromUnit(double u) {
			double value = this.log ? Math.exp(Math.log(this.low) + u * (Math.log(this.high) - Math.log(this.low)))
					: this.low + u * (this.high - this.low);
			return Math.min(this.high, Math.max(this.low, value));
		}

		/** A value's position in [0, 1] of the (log) range. */
		double toUnit(double value) {
			if (this.high == this.low) {
				return 0.5;
			}
			double u = this.log ? (Math.log(value) - Math.log(this.low)) / (Math.log(this.high) - Math.log(this.low))
					: (value - this.low) / (this.high - this.low);
			return Math.min(1, Math.max(0, u));
		}

		@Override
		public List<JsonNode> probes() {
			return List.of(JsonNodeFactory.instance.numberNode(this.low),
					JsonNodeFactory.instance.numberNode(this.high));
		}

		@Override
		public boolean discrete() {
			return false;
		}

		@Override
		public List<JsonNode> gridValues() {
			throw new UnsupportedOperationException(kind() + " cannot be enumerated");
		}

		@Override
		public String kind() {
			return this.log ? "logUniform" : "uniform";
		}

	}

	record IntUniform(String path, long low, long high) implements Dimension {

		@Override
		public JsonNode sample(Random random) {
			return JsonNodeFactory.instance
				.numberNode(this.low + (long) (random.nextDouble() * (this.high - this.low + 1)));
		}

		@Override
		public List<JsonNode> probes() {
			return List.of(JsonNodeFactory.instance.numberNode(this.low),
					JsonNodeFactory.instance.numberNode(this.high));
		}

		@Override
		public boolean discrete() {
			return true;
		}

		@Override
		public List<JsonNode> gridValues() {
			List<JsonNode> values = new ArrayList<>();
			for (long v = this.low; v <= this.high && values.size() <= MAX_GRID; v++) {
				values.add(JsonNodeFactory.instance.numberNode(v));
			}
			return values;
		}

		@Override
		public String kind() {
			return "intUniform";
		}

	}

	/**
	 * The space of a stored (already checked) {@code searchSpace} object, dimensions in
	 * its order.
	 */
	static SearchSpace of(JsonNode json) {
		List<Dimension> dimensions = new ArrayList<>();
		for (Map.Entry<String, JsonNode> entry : json.properties()) {
			String kind = entry.getValue().propertyNames().iterator().next();
			JsonNode args = entry.getValue().get(kind);
			dimensions.add(switch (kind) {
				case "choice" -> {
					List<JsonNode> values = new ArrayList<>();
					args.forEach(values::add);
					yield new Choice(entry.getKey(), values);
				}
				case "intUniform" -> new IntUniform(entry.getKey(), args.get(0).asLong(), args.get(1).asLong());
				default -> new Uniform(entry.getKey(), args.get(0).asDouble(), args.get(1).asDouble(),
						"logUniform".equals(kind));
			});
		}
		return new SearchSpace(dimensions);
	}

	/** Whether every dimension can be enumerated. */
	boolean discrete() {
		return this.dimensions.stream().allMatch(Dimension::discrete);
	}

	/** How many combinations a grid has, capped just above {@link #MAX_GRID}. */
	long gridSize() {
		long size = 1;
		for (Dimension d : this.dimensions) {
			long n = (d instanceof IntUniform i) ? i.high() - i.low() + 1 : d.gridValues().size();
			size = Math.min(MAX_GRID + 1L, size * Math.max(n, 1));
		}
		return size;
	}

	/**
	 * The grid's combination at {@code index}, the last dimension varying fastest (paths
	 * in the order the request gave them).
	 */
	Map<String, JsonNode> gridPoint(long index) {
		Map<String, JsonNode> point = new LinkedHashMap<>();
		List<Dimension> reversed = new ArrayList<>(this.dimensions);
		Collections.reverse(reversed);
		long rest = index;
		for (Dimension d : reversed) {
			List<JsonNode> values = d.gridValues();
			point.put(d.path(), values.get((int) (rest % values.size())));
			rest /= values.size();
		}
		Map<String, JsonNode> ordered = new LinkedHashMap<>();
		for (Dimension d : this.dimensions) {
			ordered.put(d.path(), point.get(d.path()));
		}
		return ordered;
	}

	/** A random point; the same seed gives the same point. */
	Map<String, JsonNode> randomPoint(Random random) {
		Map<String, JsonNode> point = new LinkedHashMap<>();
		for (Dimension d : this.dimensions) {
			point.put(d.path(), d.sample(random));
		}
		return point;
	}

}
