package io.qwenserve.engine.cuda;

import java.util.List;

/**
 * What this process can do with CUDA.
 *
 * @param cudaBuild      libtorch's CUDA natives are on the class path (the {@code cuda} Maven profile)
 * @param available      libtorch can run on at least one CUDA device
 * @param runtimeVersion the CUDA runtime's version ("13.1"), or null when it did not load
 * @param driverVersion  the newest CUDA version the driver supports ("13.2"), or null
 * @param devices        every device with its free and total memory now
 * @param problem        why CUDA is not available, in one plain sentence; null when it is
 */
public record CudaStatus(boolean cudaBuild, boolean available, String runtimeVersion, String driverVersion,
                         List<CudaDevice> devices, String problem) {

    static CudaStatus unavailable(boolean cudaBuild, String problem) {
        return new CudaStatus(cudaBuild, false, null, null, List.of(), problem);
    }

    /** A CUDA version number as the runtime encodes it (1000 * major + 10 * minor) as "major.minor". */
    static String version(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }
}
