package com.acme.finetune;

import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

/**
 * Base of end-to-end tests of concurrency on an API node without the worker role (jobs
 * they submit stay QUEUED, no training runs) and with a small connection pool, where a
 * request that holds a connection too long shows. No webhook target is allowed beyond the
 * public ones. Subclasses share one cached context.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "app.roles=api", "spring.datasource.hikari.maximum-pool-size=" + AbstractApiNodeTests.POOL_SIZE,
				"spring.datasource.hikari.connection-timeout=3000" })
@Import(TestDatabaseConfiguration.class)
@AutoConfigureRestTestClient
public abstract class AbstractApiNodeTests {

	public static final int POOL_SIZE = 5;

}
