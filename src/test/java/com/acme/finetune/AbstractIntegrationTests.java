package com.acme.finetune;

import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureRestTestClient;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

/**
 * Base of end-to-end tests: the whole application on a random port against real
 * PostgreSQL. Subclasses share one cached context, so they must not depend on an empty
 * database.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(TestDatabaseConfiguration.class)
@AutoConfigureRestTestClient
public abstract class AbstractIntegrationTests {

}
