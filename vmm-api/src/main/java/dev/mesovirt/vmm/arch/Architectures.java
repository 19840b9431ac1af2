package dev.mesovirt.vmm.arch;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** Finds {@link Architecture} implementations on the class path. */
public final class Architectures {
    private Architectures() {}

    public static List<Architecture> available() {
        return ServiceLoader.load(Architecture.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    /** The architecture this JVM runs on, which is the only one KVM can run. */
    public static Architecture host() {
        String osArch = System.getProperty("os.arch");
        List<Architecture> all = available();
        return all.stream().filter(a -> a.runsOn(osArch)).findFirst().orElseThrow(() -> new IllegalStateException(
                "no Mesovirt architecture module for host architecture " + osArch + " (have: "
                        + all.stream().map(Architecture::name).collect(Collectors.joining(", ")) + ")"));
    }
}
