package com.acme.finetune.report;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.xml.parsers.DocumentBuilderFactory;

import com.acme.finetune.job.JobSpec;
import com.acme.finetune.job.JobStatus;
import com.acme.finetune.job.JobView;
import com.acme.finetune.training.EpochMetrics;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;

/**
 * The renderers without a server: every SVG parses as XML whatever the labels contain,
 * nothing a client named reaches the markup unescaped, and odd numbers (NaN, one epoch,
 * no epochs) still draw.
 */
class ReportRenderingTests {

	static final String HOSTILE = "<script>alert(\"x\")</script>&'\u0001";

	@Test
	void chartsAreWellFormedSvgWithTheNumbers() throws Exception {
		JobReport report = report(JobStatus.SUCCEEDED, epochs(3), evaluation(List.of("cat", "dog", HOSTILE)));
		for (String svg : List.of(ReportCharts.loss(report), ReportCharts.accuracy(report),
				ReportCharts.learningRate(report), ReportCharts.confusionMatrix(report.evaluation()))) {
			Document document = parse(svg);
			assertThat(document.getDocumentElement().getTagName()).isEqualTo("svg");
			assertThat(document.getDocumentElement().getNamespaceURI()).isEqualTo("http://www.w3.org/2000/svg");
		}
		assertThat(ReportCharts.loss(report)).contains("train, epoch 2: 0.8").contains("<polyline");
		assertThat(ReportCharts.accuracy(report)).contains("validation, epoch 3: 70.0%");
		assertThat(ReportCharts.learningRate(report)).contains("epoch 1: 0.001");
		assertThat(ReportCharts.confusionMatrix(report.evaluation())).contains(">7</text>")
			.contains("true cat, predicted dog: 1 (12.5% of cat)");
	}

	@Test
	void hostileLabelsAreEscapedEverywhere() throws Exception {
		JobReport report = report(JobStatus.SUCCEEDED, epochs(2), evaluation(List.of("cat", HOSTILE)));
		String matrix = ReportCharts.confusionMatrix(report.evaluation());
		String page = ReportPage.render(report);
		for (String markup : List.of(matrix, page)) {
			assertThat(markup).doesNotContain("<script").doesNotContain("\u0001").contains("&lt;script&gt;");
		}
		assertThat(parse(matrix).getElementsByTagName("text").getLength()).isGreaterThan(4);
		// the label shows up as text, quotes and all, once parsed
		assertThat(parse(matrix).getDocumentElement().getTextContent()).contains("<script>alert(\"x\")");
	}

	@Test
	void aRunningJobShowsCurvesSoFarAndRefreshes() throws Exception {
		JobReport report = report(JobStatus.RUNNING, epochs(1), null);
		String page = ReportPage.render(report);
		assertThat(page).contains("http-equiv=\"refresh\"")
			.contains("RUNNING")
			.contains("appear when the job succeeds")
			.doesNotContain("Confusion matrix");
		parse(ReportCharts.loss(report));
	}

	@Test
	void aQueuedJobWithoutEpochsOrWithNaNsStillDraws() throws Exception {
		assertThat(ReportCharts.loss(report(JobStatus.QUEUED, List.of(), null))).contains("No finished epochs yet");
		JobReport nan = report(JobStatus.RUNNING,
				List.of(new EpochMetrics(1, Double.NaN, 0.5, Double.POSITIVE_INFINITY, 0.5, 0.01, 10, 1)), null);
		assertThatNoException().isThrownBy(() -> parse(ReportCharts.loss(nan)));
		assertThat(ReportCharts.loss(nan)).doesNotContain("NaN").doesNotContain("Infinity");
		assertThat(ReportPage.render(nan)).doesNotContain("NaN");
	}

	@Test
	void finishedPageHasNoRefreshAndTheClassTable() {
		String page = ReportPage.render(report(JobStatus.SUCCEEDED, epochs(3), evaluation(List.of("cat", "dog"))));
		assertThat(page).doesNotContain("http-equiv=\"refresh\"")
			.contains("macro average")
			.contains("0.875")
			.contains("Confusion matrix")
			.contains("href=\"report/confusion-matrix.svg\"");
	}

	@Test
	void niceCeilingsGiveRoundAxes() {
		assertThat(Charts.niceCeiling(0.83)).isEqualTo(1.0);
		assertThat(Charts.niceCeiling(1.7)).isEqualTo(2.0);
		assertThat(Charts.niceCeiling(2.2)).isEqualTo(2.5);
		assertThat(Charts.niceCeiling(0.0009)).isEqualTo(0.001, org.assertj.core.data.Offset.offset(1e-12));
		assertThat(Charts.tick(0.0012, 0.0004)).isEqualTo("0.0012");
		assertThat(Charts.tick(0.5, 0.5)).isEqualTo("0.5");
		assertThat(Charts.tick(20, 10)).isEqualTo("20");
	}

	// ---------------------------------------------------------------------------------

	static Document parse(String svg) throws Exception {
		DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
		factory.setNamespaceAware(true);
		factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
		return factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
	}

	private static List<EpochMetrics> epochs(int count) {
		return java.util.stream.IntStream.rangeClosed(1, count)
			.mapToObj((e) -> new EpochMetrics(e, 1.0 - 0.1 * e, 0.5 + 0.1 * e, 1.1 - 0.1 * e, 0.4 + 0.1 * e, 0.001,
					1500, 42.5))
			.toList();
	}

	private static Map<String, Object> evaluation(List<String> labels) {
		Map<String, Object> perClass = new LinkedHashMap<>();
		labels.forEach((l) -> perClass.put(l, Map.of("precision", 0.875, "recall", 0.875, "f1", 0.875, "support", 8)));
		List<List<Integer>> matrix = new java.util.ArrayList<>();
		for (int row = 0; row < labels.size(); row++) {
			List<Integer> cells = new java.util.ArrayList<>();
			for (int col = 0; col < labels.size(); col++) {
				cells.add((row == col) ? 7 : ((col == (row + 1) % labels.size()) ? 1 : 0));
			}
			matrix.add(cells);
		}
		return Map.of("perClass", perClass, "confusionMatrix", Map.of("labels", labels, "matrix", matrix));
	}

	private static JobReport report(JobStatus status, List<EpochMetrics> epochs, Object finalMetrics) {
		JobSpec spec = new JobSpec(UUID.randomUUID(), "resnet50-scratch", new JobSpec.Freeze("none", "frozen"),
				new JobSpec.Hyperparameters(3, 8, 0.001, "sgd", 0.9, 0, "constant", 64, "none", 0, "none", 42,
						new JobSpec.EarlyStopping(0, "valLoss"), 0, null, null),
				"cpu", 240, null);
		Instant now = Instant.now();
		JobView job = new JobView(UUID.randomUUID(), status, spec, spec.datasetId(),
				new JobView.Progress(epochs.size(), 3, 4, 4, status.isTerminal() ? 100 : 50.0, 12L, 40.0), null,
				status == JobStatus.SUCCEEDED ? UUID.randomUUID() : null, null, 1, "node-1", now.minusSeconds(30),
				(status == JobStatus.QUEUED) ? null : now.minusSeconds(20), status.isTerminal() ? now : null);
		return JobReport.of(job, epochs, finalMetrics);
	}

}
