package com.acme.finetune;

import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

/**
 * Base of end-to-end tests: the whole application on a random port against real
 * PostgreSQL. Subclasses share one cached context, so they must not depend on an empty
 * database. Webhooks may go to 127.0.0.1 here, where tests run their receivers.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = "app.webhooks.allowed-targets=127.0.0.1")
@Import(TestDatabaseConfiguration.class)
@AutoConfigureRestTestClient
public abstract class AbstractIntegrationTests {

}
