package com.acme.finetune.dataset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.stereotype.Component;

/**
 * The usable space of the filesystem uploads are written to: a bean of its own so that
 * tests can simulate a full disk without filling one.
 */
@Component
class DiskSpace {

	long usableBytes(Path dir) throws IOException {
		return Files.getFileStore(dir).getUsableSpace();
	}

}
