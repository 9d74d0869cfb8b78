package com.acme.finetune.dataset.intake;

import java.util.regex.Pattern;

/**
 * Which archive entries are refused or left out by their name or type: names that could
 * write outside the extraction root, entries that are not regular files or directories,
 * and the hidden files and operating-system litter that are not part of a dataset.
 */
final class EntryChecks {

	private static final Pattern DRIVE_LETTER = Pattern.compile("^[A-Za-z]:.*");

	private EntryChecks() {
	}

	/**
	 * Why an entry name could write outside the extraction root, or null when it is safe.
	 */
	static String unsafeReason(String name) {
		if (name == null || name.isEmpty()) {
			return "empty entry name";
		}
		if (name.indexOf('\0') >= 0) {
			return "entry name contains a NUL character";
		}
		if (name.indexOf('\\') >= 0) {
			return "entry name contains a backslash";
		}
		if (name.startsWith("/")) {
			return "absolute path";
		}
		if (DRIVE_LETTER.matcher(name).matches()) {
			return "path with a drive letter";
		}
		for (String segment : name.split("/")) {
			if ("..".equals(segment)) {
				return "path escapes the archive root (..)";
			}
		}
		return null;
	}

	/** Why an entry of this kind is refused, or null for files and directories. */
	static String unsafeType(ArchiveEntries.Entry entry) {
		return switch (entry.kind()) {
			case FILE, DIRECTORY -> null;
			case SYMBOLIC_LINK -> "symbolic link" + target(entry);
			case HARD_LINK -> "hard link" + target(entry);
			case CHARACTER_DEVICE -> "character device";
			case BLOCK_DEVICE -> "block device";
			case FIFO -> "FIFO (named pipe)";
			case SPARSE -> "sparse file (not supported)";
			case OTHER -> "unsupported entry type " + entry.linkName();
		};
	}

	private static String target(ArchiveEntries.Entry entry) {
		return (entry.linkName() == null || entry.linkName().isEmpty()) ? ""
				: " (to " + IntakeProblems.reportable(entry.linkName()) + ")";
	}

	/** The entry's path without empty and {@code .} segments. */
	static String normalize(String name) {
		StringBuilder path = new StringBuilder();
		for (String segment : name.split("/")) {
			if (segment.isEmpty() || ".".equals(segment)) {
				continue;
			}
			if (!path.isEmpty()) {
				path.append('/');
			}
			path.append(segment);
		}
		return path.toString();
	}

	/**
	 * Hidden files, macOS resource forks and Windows thumbnails are not part of a
	 * dataset.
	 */
	static boolean isIgnored(String path) {
		for (String segment : path.split("/")) {
			if (segment.startsWith(".") || "__MACOSX".equals(segment) || "Thumbs.db".equalsIgnoreCase(segment)
					|| "desktop.ini".equalsIgnoreCase(segment)) {
				return true;
			}
		}
		return false;
	}

}
