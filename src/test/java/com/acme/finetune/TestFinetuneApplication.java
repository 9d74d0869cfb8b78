package com.acme.finetune;

import org.springframework.boot.SpringApplication;

/**
 * Runs the service against the test database (container or local server) for manual work.
 */
public class TestFinetuneApplication {

	public static void main(String[] args) {
		SpringApplication.from(FinetuneApplication::main).with(TestDatabaseConfiguration.class).run(args);
	}

}
