package com.acme.finetune.dataset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A planner warning as the service stores it: cut to fit its columns. */
class StoredWarningTests {

	@Test
	void aWarningTooLargeForItsColumnsIsCutToFit() {
		Map<String, Double> weights = new java.util.LinkedHashMap<>();
		for (int i = 0; i < 5000; i++) {
			weights.put(i + "-" + "w".repeat(240), 1.0);
		}
		DatasetEntity.StoredWarning stored = DatasetService.storable(new DatasetSummary.Warning("class-imbalance",
				"largest class '" + "l".repeat(3000) + "' has …", null, weights));
		assertThat(stored.getMessage()).hasSize(DatasetService.MAX_WARNING_MESSAGE_LENGTH).endsWith("…");
		assertThat(stored.getDetails()).doesNotContain("classWeights\":{").hasSizeLessThan(1000);

		List<String> files = new ArrayList<>();
		for (int i = 0; i < 100; i++) {
			// control characters in file names are escaped six-fold in JSON
			files.add("cat/" + "\u0001".repeat(4000) + i + ".png");
		}
		DatasetEntity.StoredWarning listed = DatasetService
			.storable(new DatasetSummary.Warning("tiny-images", "100 tiny images", files, null));
		assertThat(listed.getDetails()).hasSizeLessThanOrEqualTo(DatasetService.MAX_WARNING_DETAILS_LENGTH);
		assertThat(listed.getMessage()).startsWith("100 tiny images (first ").endsWith(" files listed)");
	}

}
