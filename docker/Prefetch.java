import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.translate.NoopTranslator;

/**
 * Image build step for the GPU image: downloads the resnet50-imagenet backbone (DJL
 * PyTorch model zoo, TorchScript traced_resnet50) into DJL_CACHE_DIR, so pods start and
 * train from it without network access. Run with the application's own jars on the
 * class path, so the zoo client is the same version the service uses.
 */
public class Prefetch {

	public static void main(String[] args) throws Exception {
		Criteria<NDList, NDList> criteria = Criteria.builder()
			.setTypes(NDList.class, NDList.class)
			.optModelUrls("djl://ai.djl.pytorch/resnet")
			.optFilter("layers", "50")
			.optFilter("dataset", "imagenet")
			.optEngine("PyTorch")
			.optTranslator(new NoopTranslator())
			.build();
		criteria.downloadModel();
		if (!criteria.isDownloaded()) {
			throw new IllegalStateException("resnet50-imagenet is not in the DJL cache after downloading");
		}
		System.out.println("resnet50-imagenet cached in " + System.getenv("DJL_CACHE_DIR"));
	}

}
