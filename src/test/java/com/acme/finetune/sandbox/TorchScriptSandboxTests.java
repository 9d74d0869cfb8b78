package com.acme.finetune.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.acme.finetune.storage.ArtifactStore;
import com.acme.finetune.storage.StorageProperties;
import com.acme.finetune.support.HostileTorchScript;
import com.acme.finetune.training.BackboneInfo;
import com.acme.finetune.training.InvalidBackboneException;
import com.acme.finetune.training.Stage;
import com.acme.finetune.training.UnsafeTorchScriptException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.util.unit.DataSize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The inspection process: what it reports for a valid backbone, and that graphs which
 * would harm the process running them end the child, never this JVM, and come back as a
 * reason to refuse the file. Endless loops and libtorch crashes are exercised through the
 * API in {@code BackboneApiTests}.
 */
class TorchScriptSandboxTests {

	private static final Duration TIMEOUT = Duration.ofSeconds(20);

	@TempDir
	Path dir;

	TorchScriptSandbox sandbox;

	@BeforeEach
	void sandbox() {
		List<String> options = new ArrayList<>(new SandboxProperties(TIMEOUT, DataSize.ofGigabytes(4), 1, 2,
				List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"))
			.jvmOptions());
		options.add("-Dai.djl.offline=true");
		this.sandbox = new TorchScriptSandbox(new SandboxProperties(TIMEOUT, DataSize.ofGigabytes(4), 1, 2, options),
				new ArtifactStore(new StorageProperties(this.dir.resolve("store"), 0)));
	}

	@Test
	void aValidBackboneIsDescribed() throws IOException {
		BackboneInfo info = this.sandbox.inspect(write(HostileTorchScript.valid()), 32);
		assertThat(info.featureDim()).isEqualTo(16);
		assertThat(info.trainableStages()).containsExactly(Stage.STEM, Stage.LAYER1, Stage.LAYER2);
		// conv1 3·8·3·3 + bn1 2·8 = 232
		assertThat(info.parameterTotals()).containsEntry("stem", 232L);
	}

	@Test
	void allocationsBeyondTheMemoryLimitFail() throws IOException {
		// 8 GiB of address space, more than the limit; only one page would be touched
		byte[] greedy = HostileTorchScript.withForwardPrologue("    _big = torch.empty([2147483648], dtype=6)\n"
				+ "    x = torch.add(x, torch.mul(torch.select(_big, 0, 0), 0.))\n");
		assertThatThrownBy(() -> this.sandbox.inspect(write(greedy), 32)).isInstanceOf(InvalidBackboneException.class)
			.hasMessageContaining("allocate");
	}

	@Test
	void refusedCodeNeverStartsAProcess() throws IOException {
		Path stolen = this.dir.resolve("stolen.pt");
		Path secret = Files.writeString(this.dir.resolve("secret"), "ABCD");
		assertThatThrownBy(() -> this.sandbox
			.inspect(write(HostileTorchScript.readsAndWritesFiles(secret.toString(), stolen.toString())), 32))
			.isInstanceOf(UnsafeTorchScriptException.class)
			.satisfies((ex) -> assertThat(((UnsafeTorchScriptException) ex).refused())
				.containsExactly("aten::from_file", "aten::save"));
		assertThat(stolen).doesNotExist();
		// no inspection work directory was ever made
		try (var work = Files.list(this.dir.resolve("store").resolve("tmp"))) {
			assertThat(work).isEmpty();
		}
	}

	private Path write(byte[] archive) throws IOException {
		return Files.write(Files.createTempFile(this.dir, "graph-", ".pt"), archive);
	}

}
