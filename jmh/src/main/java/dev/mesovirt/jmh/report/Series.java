package dev.mesovirt.jmh.report;

import java.util.Arrays;
import java.util.List;

/**
 * One measured series: the samples of one figure for one variant (e.g. "execve → first KVM_RUN" for "Mesovirt, AOT
 * cache"), and the name of the series it is compared with, if any.
 *
 * @param name unique id, e.g. {@code startup.strace.aot} or {@code jmh.ExitPathBenchmark.vcpuLoop[exit=pio]}
 * @param figure what is measured; rows of one figure are shown together
 * @param variant which VMM / configuration
 * @param unit e.g. ms, ns/exit, requests/s, MiB
 * @param better "lower" or "higher"
 * @param peer the name of the series this one is compared with (QEMU, C), or null
 * @param samples the values (iterations, runs); never empty
 * @param source where the series came from (a file name)
 */
public record Series(String name, String figure, String variant, String unit, String better, String peer,
        double[] samples, String source) {
    public Series {
        if (samples.length == 0) {
            throw new IllegalArgumentException(name + ": no samples");
        }
        samples = samples.clone();
    }

    public static Series of(String name, String figure, String variant, String unit, String better, String peer,
            List<Double> samples, String source) {
        return new Series(name, figure, variant, unit, better, peer,
                samples.stream().mapToDouble(Double::doubleValue).toArray(), source);
    }

    public double median() {
        double[] s = sorted();
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public double min() {
        return sorted()[0];
    }

    public double max() {
        double[] s = sorted();
        return s[s.length - 1];
    }

    public int n() {
        return samples.length;
    }

    private double[] sorted() {
        double[] s = samples.clone();
        Arrays.sort(s);
        return s;
    }

    @Override
    public double[] samples() {
        return samples.clone();
    }
}
