package io.qwenserve.engine.cli;

import io.qwenserve.engine.cuda.Cuda;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import picocli.CommandLine.Command;

/**
 * {@code bin/qwen natives}: unpacks the native libraries of the libtorch build on the class path (CPU or CUDA), and of
 * JavaCPP, OpenBLAS and the CUDA runtime bindings, into JavaCPP's cache without loading any of them, and prints where.
 * A container build runs it with the cache in a fixed directory, so that a start does not unpack them again; it needs
 * no GPU, driver or CUDA library (loading them would).
 */
@Command(name = "natives", description = "Unpack the native libraries on the class path (libtorch CPU or CUDA, JavaCPP, "
        + "OpenBLAS, CUDA bindings) into the JavaCPP cache without loading them; print the directories (container builds).")
final class NativesCommand implements Callable<Integer> {

    @Override
    public Integer call() throws IOException {
        String platform = Loader.getPlatform();
        boolean cuda = Cuda.cudaBuild();
        List<String> resources = new ArrayList<>(List.of("/org/bytedeco/javacpp/" + platform + "/",
                "/org/bytedeco/openblas/" + platform + "/", "/org/bytedeco/pytorch/" + platform + (cuda ? "-gpu/" : "/")));
        if (cuda) {
            resources.add("/org/bytedeco/cuda/" + platform + "/");
        }
        System.out.println("natives: " + (cuda ? "cuda (org.bytedeco:cuda " + Cuda.presetVersion() + ")" : "cpu"));
        System.out.println("cache: " + Loader.getCacheDir());
        for (String r : resources) {
            File[] dirs = Loader.cacheResources(r);
            if (dirs == null || dirs.length == 0) {
                throw new IllegalStateException("no " + r + " on the class path");
            }
            for (File d : dirs) {
                System.out.println("unpacked: " + d);
            }
        }
        return 0;
    }
}
