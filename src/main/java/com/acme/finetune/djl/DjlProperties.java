package com.acme.finetune.djl;

import java.nio.file.Path;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the DJL PyTorch engine is started.
 *
 * @param offline never download anything at run time (natives come from the classpath)
 * @param cacheDir where DJL extracts natives and caches model-zoo downloads
 * @param numThreads intra-op threads per engine (0 = PyTorch's default)
 * @param numInteropThreads inter-op threads (0 = PyTorch's default)
 * @param preload start the engine in the background once the application is ready, so the
 * first job or prediction does not pay for it and health shows the engine early
 * @param bf16 serve models in bfloat16 where their job asked for it ({@code precision}
 * {@code auto} or {@code bf16}) and it checks out ({@link Bf16Support}); false: every
 * model serves in fp32
 */
@ConfigurationProperties("app.djl")
public record DjlProperties(@DefaultValue("false") boolean offline, @DefaultValue("./data/djl-cache") Path cacheDir,
		@DefaultValue("0") int numThreads, @DefaultValue("0") int numInteropThreads,
		@DefaultValue("true") boolean preload, @DefaultValue("true") boolean bf16) {
}
