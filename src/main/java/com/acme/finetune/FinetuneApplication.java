package com.acme.finetune;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * The transfer-learning service: dataset intake, fine-tuning jobs and prediction serving.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class FinetuneApplication {

	public static void main(String[] args) {
		SpringApplication.run(FinetuneApplication.class, args);
	}

}
