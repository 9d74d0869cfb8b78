package com.acme.finetune.web;

import org.junit.jupiter.api.Test;

import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The last line of defence: an {@link Error} escaping a handler becomes a 507 (memory) or
 * 503 problem with {@code Retry-After}, never a 500, and the next request is served.
 */
class ErrorMappingTests {

	private final MockMvc mvc = MockMvcBuilders.standaloneSetup(new Throwing())
		.setControllerAdvice(new ApiExceptionHandler())
		.build();

	@Test
	void outOfMemoryIsInsufficientStorage() throws Exception {
		this.mvc.perform(get("/oom"))
			.andExpect(status().isInsufficientStorage())
			.andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.type").value(ProblemType.INSUFFICIENT_STORAGE.uri().toString()))
			.andExpect(header().string("Retry-After", "5"));
		this.mvc.perform(get("/fine")).andExpect(status().isOk());
	}

	@Test
	void otherErrorsAreServiceUnavailable() throws Exception {
		for (String path : new String[] { "/stack", "/linkage" }) {
			this.mvc.perform(get(path))
				.andExpect(status().isServiceUnavailable())
				.andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
				.andExpect(jsonPath("$.type").value(ProblemType.SERVICE_BUSY.uri().toString()))
				.andExpect(jsonPath("$.detail")
					.value(org.hamcrest.Matchers.not(org.hamcrest.Matchers.containsString("Error"))));
		}
	}

	@Test
	void ordinaryBugsStayInternalErrors() throws Exception {
		this.mvc.perform(get("/bug"))
			.andExpect(status().isInternalServerError())
			.andExpect(jsonPath("$.type").value(ProblemType.INTERNAL.uri().toString()));
	}

	@RestController
	static class Throwing {

		@GetMapping("/oom")
		String oom() {
			throw new OutOfMemoryError("Java heap space");
		}

		@GetMapping("/stack")
		String stack() {
			throw new StackOverflowError();
		}

		@GetMapping("/linkage")
		String linkage() {
			throw new NoClassDefFoundError("some/Class");
		}

		@GetMapping("/bug")
		String bug() {
			throw new IllegalStateException("a bug");
		}

		@GetMapping("/fine")
		String fine() {
			return "ok";
		}

	}

}
