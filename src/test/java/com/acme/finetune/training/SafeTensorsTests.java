package com.acme.finetune.training;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.acme.finetune.training.artifact.SafeTensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The safetensors writer against the format's rules, read back independently. */
class SafeTensorsTests {

	@Test
	void writesAlignedTensorsThatAnIndependentReaderReadsBack() throws IOException {
		float[] weight = { 1.5f, -2.25f, 3.0e-7f, Float.MAX_VALUE, -0.0f, 42f };
		byte[] file = write(Map.of("format", "pt"),
				List.of(SafeTensors.Tensor.f32("layer.weight", new long[] { 2, 3 }, () -> weight),
						SafeTensors.Tensor.f32("odd", new long[] { 1 }, () -> new float[] { 7f }),
						SafeTensors.Tensor.i64("bn.num_batches_tracked", new long[0], 123456789012L),
						SafeTensors.Tensor.f32("empty", new long[] { 0, 4 }, () -> new float[0])));

		SafeTensorsReader.Contents contents = SafeTensorsReader.read(file);

		// little-endian u64 length, data buffer 8-byte aligned
		assertThat(ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong()).isEqualTo(contents.headerLength());
		assertThat((8 + contents.headerLength()) % 8).isZero();
		assertThat(contents.metadata()).containsExactly(Map.entry("format", "pt"));
		assertThat(contents.tensors().keySet()).containsExactly("layer.weight", "odd", "bn.num_batches_tracked",
				"empty");
		assertThat(contents.tensors().get("layer.weight").shape()).containsExactly(2, 3);
		assertThat(contents.tensors().get("layer.weight").floats()).containsExactly(weight);
		assertThat(contents.tensors().get("odd").floats()).containsExactly(7f);
		SafeTensorsReader.Entry counter = contents.tensors().get("bn.num_batches_tracked");
		assertThat(counter.shape()).isEmpty();
		assertThat(counter.longs()).containsExactly(123456789012L);
		assertThat(contents.tensors().get("empty").floats()).isEmpty();
		// every tensor starts aligned to its element size (int64 first)
		assertThat(counter.begin()).isZero();
		contents.tensors().values().forEach((t) -> assertThat(t.begin() % ("I64".equals(t.dtype()) ? 8 : 4)).isZero());
	}

	@Test
	void namesAreEscapedInTheHeader() throws IOException {
		String name = "odd \"name\" \\ with\ttab and ü";
		byte[] file = write(Map.of(), List.of(SafeTensors.Tensor.f32(name, new long[] { 1 }, () -> new float[] { 1 })));
		assertThat(SafeTensorsReader.read(file).tensors()).containsOnlyKeys(name);
	}

	@Test
	void refusesValuesThatDoNotFitTheShape() {
		assertThatThrownBy(() -> write(Map.of(),
				List.of(SafeTensors.Tensor.f32("w", new long[] { 2, 2 }, () -> new float[] { 1, 2, 3 }))))
			.isInstanceOf(IOException.class)
			.hasMessageContaining("w");
	}

	@Test
	void refusesDuplicateAndReservedNames() {
		SafeTensors.Tensor a = SafeTensors.Tensor.f32("a", new long[] { 1 }, () -> new float[] { 1 });
		assertThatThrownBy(() -> write(Map.of(), List.of(a, a))).isInstanceOf(IllegalArgumentException.class);
		assertThatThrownBy(() -> write(Map.of(),
				List.of(SafeTensors.Tensor.f32("__metadata__", new long[] { 1 }, () -> new float[] { 1 }))))
			.isInstanceOf(IllegalArgumentException.class);
	}

	private static byte[] write(Map<String, String> metadata, List<SafeTensors.Tensor> tensors) throws IOException {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		SafeTensors.write(out, metadata, tensors);
		return out.toByteArray();
	}

}
