package com.acme.finetune.dataset.intake;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.stereotype.Component;

/**
 * The usable space of the filesystem uploads are written to: a bean of its own so that
 * tests can simulate a full disk without filling one.
 */
@Component
public class DiskSpace {

	protected long usableBytes(Path dir) throws IOException {
		return Files.getFileStore(dir).getUsableSpace();
	}

}
