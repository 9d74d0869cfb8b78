package com.acme.finetune.support;

import java.util.List;
import java.util.Map;

import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;

/** HTTP steps that many end-to-end tests share. */
public final class TestApi {

	public static final ParameterizedTypeReference<Map<String, Object>> JSON_OBJECT = new ParameterizedTypeReference<>() {
	};

	/** The same, for Jackson's own readers. */
	public static final tools.jackson.core.type.TypeReference<Map<String, Object>> JSON_MAP = new tools.jackson.core.type.TypeReference<>() {
	};

	private TestApi() {
	}

	/** A multipart file part with a file name. */
	public static ByteArrayResource file(byte[] content, String filename) {
		return new ByteArrayResource(content) {

			@Override
			public String getFilename() {
				return filename;
			}

		};
	}

	/** Uploads a dataset archive (201 expected) and returns its id. */
	public static String uploadDataset(RestTestClient client, byte[] zip, String validationSplit) {
		MultiValueMap<String, Object> parts = new LinkedMultiValueMap<>();
		parts.add("file", file(zip, "dataset.zip"));
		parts.add("validationSplit", validationSplit);
		Map<String, Object> dataset = client.post()
			.uri("/api/v1/datasets")
			.contentType(MediaType.MULTIPART_FORM_DATA)
			.body(parts)
			.exchange()
			.expectStatus()
			.isCreated()
			.expectBody(JSON_OBJECT)
			.returnResult()
			.getResponseBody();
		return (String) dataset.get("id");
	}

	/** A GET that must answer 200, as a JSON object. */
	public static Map<String, Object> get(RestTestClient client, String path) {
		return client.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(JSON_OBJECT)
			.returnResult()
			.getResponseBody();
	}

	/** A JSON POST that must answer {@code status}, as a JSON object. */
	public static Map<String, Object> post(RestTestClient client, String path, Object body, int status) {
		return client.post()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange()
			.expectStatus()
			.isEqualTo(status)
			.expectBody(JSON_OBJECT)
			.returnResult()
			.getResponseBody();
	}

	/** A JSON object inside a JSON response. */
	@SuppressWarnings("unchecked")
	public static Map<String, Object> map(Object value) {
		return (Map<String, Object>) value;
	}

	/** A JSON array of objects inside a JSON response. */
	@SuppressWarnings("unchecked")
	public static List<Map<String, Object>> list(Object value) {
		return (List<Map<String, Object>>) value;
	}

}
