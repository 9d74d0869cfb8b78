package com.acme.finetune.dataset;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The migration and the blob reference SQL also run on H2 in PostgreSQL mode, the
 * zero-install default database (PostgreSQL itself is covered by the API tests).
 */
class DatasetSchemaTests {

	private static final String H2 = "jdbc:h2:mem:datasets;MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;"
			+ "DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";

	@Test
	void migrationAndBlobUpsertRunOnH2() throws Exception {
		Flyway.configure().dataSource(H2, "sa", "").load().migrate();
		try (Connection connection = DriverManager.getConnection(H2, "sa", "")) {
			for (int i = 0; i < 2; i++) {
				try (PreparedStatement insert = connection.prepareStatement(
						"insert into dataset_blob (sha256, size_bytes, ref_count) values (?, ?, 0) on conflict do nothing")) {
					insert.setString(1, "ab".repeat(32));
					insert.setLong(2, 10);
					insert.executeUpdate();
				}
				try (PreparedStatement update = connection
					.prepareStatement("update dataset_blob set ref_count = ref_count + 1 where sha256 = ?")) {
					update.setString(1, "ab".repeat(32));
					assertThat(update.executeUpdate()).isOne();
				}
			}
			try (ResultSet rs = connection.createStatement().executeQuery("select ref_count from dataset_blob")) {
				assertThat(rs.next()).isTrue();
				assertThat(rs.getInt(1)).isEqualTo(2);
			}
		}
	}

}
