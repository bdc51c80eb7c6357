package io.qwenserve.service.deploy;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/docker/Dockerfile.cuda} against the libtorch build it packages (no Docker engine runs here, so the
 * image is checked as files): the CUDA and cuDNN versions of its runtime stage are the ones libtorch's own pom
 * declares and the parent pom pins; the build stage needs no GPU; the runtime stage checks every library the natives
 * link with {@code check-natives.sh}, which is run here on libtorch's CPU natives to show that it finds what is
 * missing.
 */
class CudaImageTest {
    static final Path ROOT = Path.of("..");
    static final Path DOCKERFILE = ROOT.resolve("deploy/docker/Dockerfile.cuda");
    static final Path CHECK = ROOT.resolve("deploy/docker/check-natives.sh");

    static String arg(String dockerfile, String name) {
        Matcher m = Pattern.compile("(?m)^ARG " + name + "=(\\S+)$").matcher(dockerfile);
        assertTrue(m.find(), "ARG " + name);
        return m.group(1);
    }

    /** "13.1-9.19" of org.bytedeco:cuda as the given pom text declares it (its version, or the cuda dependency's). */
    static String cudaOf(String pom, String pattern) {
        Matcher m = Pattern.compile(pattern, Pattern.DOTALL).matcher(pom);
        assertTrue(m.find(), pattern);
        return m.group(1);
    }

    @Test
    void theRuntimeStageHasTheCudaAndCudnnLibtorchWasBuiltWith() throws IOException {
        String libtorchPom;
        try (InputStream in = Loader.class.getClassLoader().getResourceAsStream("META-INF/maven/org.bytedeco/pytorch/pom.xml")) {
            assertNotNull(in, "org.bytedeco:pytorch's pom in its jar");
            libtorchPom = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String libtorchCuda = cudaOf(libtorchPom, "<artifactId>cuda</artifactId>\\s*<version>(\\d+\\.\\d+-\\d+\\.\\d+)-");
        String pinned = cudaOf(Files.readString(ROOT.resolve("pom.xml")), "<cuda.version>(\\d+\\.\\d+-\\d+\\.\\d+)-");
        assertEquals(libtorchCuda, pinned, "the parent pom's cuda.version is libtorch's own CUDA dependency");
        String df = Files.readString(DOCKERFILE);
        String cuda = arg(df, "CUDA_VERSION");
        String cudnn = arg(df, "CUDNN_VERSION");
        assertEquals(libtorchCuda, cuda.replaceAll("^(\\d+\\.\\d+).*", "$1") + "-" + cudnn, "image CUDA " + cuda + ", cuDNN " + cudnn);
        assertTrue(df.contains("FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04"), "NVIDIA's CUDA runtime image");
        assertTrue(df.contains("\"libcudnn9-cuda-${cuda_pkg%%-*}=${CUDNN_VERSION}.*\""), "cuDNN pinned to the build's minor version");
        assertTrue(df.contains("\"cuda-cupti-${cuda_pkg}\""), "CUPTI, which libtorch_cpu links in the CUDA build");
    }

    @Test
    void theBuildStageNeedsNoGpuAndTheRuntimeStageChecksTheLibraries() throws IOException {
        String df = Files.readString(DOCKERFILE);
        String build = df.substring(df.indexOf("AS build"), df.indexOf("FROM nvidia/cuda"));
        String runtime = df.substring(df.indexOf("FROM nvidia/cuda"));
        assertTrue(build.contains("mvn -B -q -DskipTests -Pcuda -Dcuda -Dquarkus.management.enabled=true -pl service -am package"), build);
        assertTrue(build.contains("QwenCli natives"), "natives are unpacked, not loaded, at build time");
        assertFalse(build.contains("QwenCli info"), "info loads libtorch, which needs the CUDA libraries");
        assertTrue(runtime.contains("COPY --from=build --chown=qwen:qwen /src/service/target-cuda/quarkus-app/ /app/"), runtime);
        assertTrue(runtime.contains("RUN check-natives.sh /opt/javacpp"), runtime);
        assertTrue(runtime.contains("QWEN_MODEL_DEVICE=cuda"), runtime);
        Matcher entry = Pattern.compile("(?m)^ENTRYPOINT (.*)$").matcher(runtime);
        assertTrue(entry.find());
        assertTrue(entry.group(1).contains("exec java -XX:+ExitOnOutOfMemoryError $JAVA_OPTS_APPEND -jar /app/quarkus-run.jar"), entry.group(1));
    }

    @Test
    void checkNativesFindsEveryLibraryOrNamesTheMissingOnes(@TempDir Path tmp) throws Exception {
        assumeTrue(new File("/usr/bin/ldd").canExecute() || new File("/bin/ldd").canExecute(), "check-natives.sh needs ldd");
        String platform = Loader.getPlatform();
        List<String> dirs = new ArrayList<>();
        for (String r : List.of("javacpp", "openblas", "pytorch")) {
            for (File d : Loader.cacheResources("/org/bytedeco/" + r + "/" + platform + "/")) {
                dirs.add(d.getPath());
            }
        }
        Run ok = check(dirs);
        assertEquals(0, ok.exit, ok.out);
        assertTrue(ok.out.contains("every library the natives link is here"), ok.out);
        // a JNI library without the libtorch it links
        Path lone = Files.createDirectories(tmp.resolve("org/bytedeco/pytorch/" + platform));
        Path pytorch = Path.of(dirs.get(dirs.size() - 1));
        Files.copy(pytorch.resolve("libjnitorch_gloo.so"), lone.resolve("libjnitorch_gloo.so"));
        Run missing = check(List.of(tmp.toString()));
        assertEquals(1, missing.exit, missing.out);
        assertTrue(missing.out.contains("not found:") && missing.out.contains("libtorch_cpu.so"), missing.out);
    }

    record Run(int exit, String out) {}

    static Run check(List<String> dirs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", CHECK.toString()));
        cmd.addAll(dirs);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "check-natives.sh did not finish: " + out);
        return new Run(p.exitValue(), out);
    }
}
