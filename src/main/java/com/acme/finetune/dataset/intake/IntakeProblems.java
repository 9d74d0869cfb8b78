package com.acme.finetune.dataset.intake;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.acme.finetune.web.ApiException;
import com.acme.finetune.web.ProblemType;
import org.apache.commons.compress.archivers.zip.UnsupportedZipFeatureException;

/**
 * Per-file errors of one kind: the first {@link #MAX_REPORTED_ERRORS}, names cut to
 * {@link #MAX_REPORTED_NAME} characters, and how many there were in all, so that 100 000
 * hostile entries with 64 KiB names cost no more memory than a thousand.
 * <p>
 * Its static methods build the refusals of dataset intake (archive reader and planner):
 * per-file error lists capped the same way, archives too large, corrupt or using an
 * unsupported zip feature.
 */
final class IntakeProblems {

	/**
	 * Reported per-file errors are capped so that a hostile archive cannot blow up the
	 * reply.
	 */
	static final int MAX_REPORTED_ERRORS = 1000;

	/** Longest entry name quoted in a reply; longer ones are cut. */
	static final int MAX_REPORTED_NAME = 1000;

	private final List<Map<String, String>> first = new ArrayList<>();

	private int total;

	void add(String file, String reason) {
		this.total++;
		if (this.first.size() < MAX_REPORTED_ERRORS) {
			Map<String, String> error = new LinkedHashMap<>();
			error.put("file", reportable(file));
			error.put("reason", reason);
			this.first.add(error);
		}
	}

	boolean isEmpty() {
		return this.total == 0;
	}

	ApiException refusal(ProblemType type, String what) {
		ApiException ex = new ApiException(type, this.total + what);
		ex.with("errors", this.first);
		if (this.total > this.first.size()) {
			ex.with("totalErrors", this.total);
		}
		return ex;
	}

	static ApiException refusal(ProblemType type, List<Map<String, String>> errors, String what) {
		ApiException ex = new ApiException(type, errors.size() + what);
		ex.with("errors", errors.subList(0, Math.min(errors.size(), MAX_REPORTED_ERRORS)));
		if (errors.size() > MAX_REPORTED_ERRORS) {
			ex.with("totalErrors", errors.size());
		}
		return ex;
	}

	/** A name as quoted in a reply: cut after {@link #MAX_REPORTED_NAME} characters. */
	static String reportable(String name) {
		if (name == null || name.length() <= MAX_REPORTED_NAME) {
			return name;
		}
		int end = MAX_REPORTED_NAME;
		if (Character.isHighSurrogate(name.charAt(end - 1))) {
			end--;
		}
		return name.substring(0, end) + "… (" + name.length() + " characters)";
	}

	static ApiException unsupported(UnsupportedZipFeatureException ex) {
		String entry = (ex.getEntry() != null) ? " in entry " + reportable(ex.getEntry().getName()) : "";
		return new ApiException(ProblemType.INVALID_ARCHIVE,
				"The zip uses a feature this service does not read" + entry + ": " + ex.getFeature()
						+ " (stored entries with a data descriptor, encryption or an unusual compression method);"
						+ " re-create it with deflate compression");
	}

	static ApiException tooLarge(String detail) {
		return new ApiException(ProblemType.ARCHIVE_TOO_LARGE, detail + "; nothing was stored");
	}

	static ApiException corrupt(String detail) {
		return new ApiException(ProblemType.CORRUPT_ARCHIVE, "The archive is corrupt or truncated: " + detail);
	}

}
