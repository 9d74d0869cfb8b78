package com.acme.finetune.training;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import com.acme.finetune.support.HostileTorchScript;
import com.acme.finetune.training.artifact.ArtifactBlockFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The allow-list of what TorchScript code may call: every fixture the project trains with
 * passes, as does the same code once libtorch 2.7.1 has written it into a model artifact;
 * file, network, process, printing and custom operators are refused however they are
 * spelled, before libtorch sees the file.
 */
class TorchScriptPolicyTests {

	private static final String FORWARD = "    x: Tensor) -> Tensor:\n";

	@TempDir
	Path dir;

	@Test
	void everyFixtureBackbonePasses() throws IOException {
		Path fixtures = TrainingFixtures.fixture("tiny-backbone-partial.pt").getParent();
		List<Path> files;
		try (Stream<Path> walk = Files.walk(fixtures)) {
			files = walk.filter((p) -> p.toString().endsWith(".pt")).toList();
		}
		// tiny traces and scripts of torchvision-shaped ResNets, the ResNet-50 topology
		// (the shape of the DJL zoo's traced_resnet50) and the parity backbone
		assertThat(files).hasSizeGreaterThanOrEqualTo(8);
		for (Path file : files) {
			assertThat(TorchScriptPolicy.refusals(file)).as(file.getFileName().toString()).isEmpty();
		}
	}

	@Test
	void codeThatLibtorchWritesIntoArtifactsPasses() throws IOException {
		// model artifacts hold the backbone as libtorch 2.7.1 prints it, after the
		// strided-convolution rewrite of a trainable backbone, and the ImageNet surgery
		Path imagenet = this.dir.resolve("embedding.pt");
		ImagenetBackbone.stripClassifier(TrainingFixtures.fixture("tiny-resnet-classifier.pt"), imagenet);
		assertThat(TorchScriptPolicy.refusals(imagenet)).isEmpty();
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
			for (String name : List.of("tiny-backbone-scripted.pt", "tiny-backbone-shortcut.pt",
					"tiny-resnet50-topology.pt")) {
				PtSymbolBlock block = ArtifactBlockFactory.loadBackbone(manager, TrainingFixtures.fixture(name), true);
				Path written = this.dir.resolve("written-" + name);
				try (OutputStream out = Files.newOutputStream(written)) {
					JniUtils.writeModule(block, out, false);
				}
				assertThat(TorchScriptPolicy.refusals(written)).as(name).isEmpty();
			}
		}
	}

	@Test
	void fileOperatorsAreRefusedHoweverTheyAreSpelled() throws IOException {
		assertThat(refusals(HostileTorchScript.readsAndWritesFiles("/etc/hostname", "/tmp/stolen.pt")))
			.containsExactly("aten::from_file", "aten::save");
		// as a string's method, through getattr, through ops.aten
		assertThat(refusals(prologue("    _0 = \"/etc/hostname\".from_file(False, 1)\n")))
			.containsExactly("aten::from_file");
		assertThat(refusals(prologue("    _0 = getattr(torch, \"save\")(x, \"/tmp/x\")\n"))).contains("aten::save");
		assertThat(refusals(prologue("    _0 = ops.aten.save(x, \"/tmp/x\")\n"))).containsExactly("aten::save");
		assertThat(refusals(prologue("    _0 = (torch).save(x, \"/tmp/x\")\n"))).contains("aten::save");
		// an escape in getattr's name could spell anything
		assertThat(refusals(prologue("    _0 = getattr(torch, \"sa\\x76e\")\n")))
			.contains("getattr without a plain literal name");
	}

	@Test
	void aModuleMethodOnlyCountsWhereTheModuleDeclaresIt() throws IOException {
		// `self.save(...)` on a module without `save` is aten::save(self, path): it would
		// pickle the module to a file. Declaring `save` on another class changes nothing.
		byte[] other = HostileTorchScript.editTopLevelSource(
				(code) -> code.replace(FORWARD, FORWARD + "    _0 = (self).save(\"/tmp/module.pt\", )\n")
						+ "class Other(Module):\n  __parameters__ = []\n  __buffers__ = []\n  training : bool\n"
						+ "  def save(self: __torch__.Other,\n    path: str) -> NoneType:\n    return None\n");
		assertThat(refusals(other)).containsExactly("aten::save");
		// declared on the module itself, it is the module's own (checked) code
		byte[] own = HostileTorchScript.editTopLevelSource(
				(code) -> code.replace(FORWARD, FORWARD + "    _0 = (self).save(\"/tmp/module.pt\", )\n")
						+ "  def save(self: __torch__.Partial,\n    path: str) -> NoneType:\n    return None\n");
		assertThat(refusals(own)).isEmpty();
		// submodule chains are resolved through the declared attribute types
		assertThat(refusals(prologue("    _0 = self.layer1.training\n"))).isEmpty();
		assertThat(refusals(prologue("    _0 = self.layer1.save(\"/tmp/x\")\n"))).containsExactly("aten::save");
	}

	@Test
	void printingCustomOperatorsAndCppClassesAreRefused() throws IOException {
		assertThat(refusals(prologue("    print(x)\n"))).containsExactly("prim::Print");
		assertThat(refusals(prologue("    _0 = ops.myops.run(x)\n"))).containsExactly("myops::run");
		assertThat(refusals(prologue("    _0 = ops.prim.Print(x)\n"))).containsExactly("prim::Print");
		assertThat(refusals(prologue("    _0 = fork(torch.relu, x)\n"))).containsExactly("prim::fork");
		assertThat(refusals(prologue("    _0 = open(\"/etc/hostname\")\n"))).containsExactly("open");
		assertThat(refusals(prologue("    _0 = torch.warn(\"x\")\n"))).containsExactly("aten::warn");
		assertThat(refusals(prologue("    _0 = annotate(__torch__.torch.classes.myns.Socket, None)\n")))
			.containsExactly("__torch__.torch.classes.myns.Socket (a C++ class)");
		byte[] pickled = HostileTorchScript.withEntry(HostileTorchScript.valid(), "tiny-backbone-partial/extra.pkl",
				"c__torch__.torch.classes.myns\nSocket\n".getBytes(StandardCharsets.US_ASCII));
		assertThat(refusals(pickled)).singleElement().asString().startsWith("__torch__.torch.classes");
	}

	@Test
	void shadowingABuiltinAndUnsupportedConstructsAreRefused() throws IOException {
		// `print` bound on a branch never taken would leave the global print visible
		assertThat(refusals(prologue("    if False:\n      print = 1\n    print(x)\n")))
			.contains("a local variable named like the builtin 'print'", "prim::Print");
		assertThat(refusals(prologue("    def inner(y: Tensor) -> Tensor:\n      return y\n")))
			.contains("nested function definition");
		assertThat(refusals(prologue("    with torch.no_grad():\n      pass\n"))).contains("with", "aten::no_grad");
		assertThat(refusals(prologue("    _0 = torch\n"))).containsExactly("'torch' used as a value");
	}

	@Test
	void whatTheSourceCannotShowIsRefusedAsUnreadable() throws IOException {
		// characters TorchScript's lexer might read differently from this one
		assertThatThrownBy(() -> refusals(prologue("\t_0 = 1\n"))).isInstanceOf(IOException.class)
			.hasMessageContaining("U+0009");
		assertThatThrownBy(() -> refusals(prologue("    _0 = 1 # comment\r    _1 = torch.save(x, \"a\")\n")))
			.isInstanceOf(IOException.class)
			.hasMessageContaining("U+000D");
		assertThatThrownBy(() -> refusals(prologue("    _0 = 1\r    _1 = torch.save(x, \"a\")\n")))
			.hasMessageContaining("U+000D");
		assertThatThrownBy(() -> refusals(prologue("    _0 = 1  # type: (Tensor) -> Tensor\n")))
			.hasMessageContaining("type comment");
		assertThatThrownBy(() -> refusals("definitely not a zip".getBytes())).isInstanceOf(IOException.class);
		byte[] flatbuffer = HostileTorchScript.valid();
		flatbuffer[4] = 'P';
		flatbuffer[5] = 'T';
		flatbuffer[6] = 'M';
		flatbuffer[7] = 'F';
		assertThatThrownBy(() -> refusals(flatbuffer)).hasMessageContaining("flatbuffer");
		byte[] deep = prologue("    _0 = " + "(".repeat(200) + "1" + ")".repeat(200) + "\n");
		assertThatThrownBy(() -> refusals(deep)).hasMessageContaining("nested deeper");
		// libtorch finds entries ignoring case: a second code file differing only in case
		byte[] twice = HostileTorchScript.withEntry(HostileTorchScript.valid(),
				"tiny-backbone-partial/CODE/__torch__.py", "class X(Module):\n  pass\n".getBytes());
		assertThat(refusals(twice)).contains("duplicate archive entry tiny-backbone-partial/CODE/__torch__.py");
	}

	@Test
	void loopsAndDeepExpressionsPassTheListAndAreLeftToTheSandbox() throws IOException {
		assertThat(refusals(HostileTorchScript.endlessLoop())).isEmpty();
		assertThat(refusals(HostileTorchScript.crashesTheCompiler(100_000))).isEmpty();
	}

	@Test
	void nothingRefusedReachesLibtorch() throws IOException {
		Path stolen = this.dir.resolve("stolen.pt");
		Path file = write(HostileTorchScript
			.readsAndWritesFiles(TrainingFixtures.fixture("tiny-backbone-partial.pt").toString(), stolen.toString()));
		try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
			assertThatThrownBy(() -> ArtifactBlockFactory.loadBackbone(manager, file, false))
				.isInstanceOf(UnsafeTorchScriptException.class)
				.hasMessageContaining("aten::from_file");
			assertThatThrownBy(() -> new FineTuner().inspect(new BaseModel(BaseModel.Kind.TORCHSCRIPT, "x", file), 32))
				.isInstanceOf(UnsafeTorchScriptException.class);
		}
		assertThat(stolen).doesNotExist();
	}

	private static byte[] prologue(String statements) throws IOException {
		return HostileTorchScript.withForwardPrologue(statements);
	}

	private List<String> refusals(byte[] archive) throws IOException {
		return TorchScriptPolicy.refusals(write(archive));
	}

	private Path write(byte[] archive) throws IOException {
		return Files.write(Files.createTempFile(this.dir, "graph-", ".pt"), archive);
	}

}
