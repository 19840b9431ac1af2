package dev.mesovirt.jmh.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns benchmark results into {@code docs/benchmarks.md} and {@code docs/benchmarks.json}: per series the median,
 * the min–max spread, the number of samples and the ratio of its median to its peer's (QEMU or the C reference),
 * plus the machine it ran on.
 *
 * <p>Inputs: JMH's JSON result files ({@code -rf json}; every measurement iteration of every fork is a sample) and
 * JSON-lines files of the benchmark scripts (jmh/bench/lib.sh: one series per line, {@code {"name", "peer", "unit",
 * "better", "figure", "variant", "samples"}}); notes on how they were made, as text or as a part's note file.
 *
 * <p>{@code --keep PREVIOUS.json} carries over the series and note files of an earlier table whose files are not among
 * this run's inputs, as they were (samples, labels, source): the raw results live in a build directory that a fresh
 * checkout does not have, and a part measured again must not lose the rows of the parts that were not. Rows are in the
 * order of their files, JMH's results first, then the scripts' lines, each by file name (jmh/run.sh's order), kept
 * ones included.
 *
 * <pre>
 * java -cp jmh/target/benchmarks.jar dev.mesovirt.jmh.report.ResultsTable [--jmh FILE]... [--lines FILE]...
 *     [--md docs/benchmarks.md] [--json docs/benchmarks.json] [--title TEXT] [--note TEXT]... [--note-file FILE]...
 *     [--keep PREVIOUS.json]
 * </pre>
 */
public final class ResultsTable {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    /** Files {@code NAME-emulated-ARCH.json} / {@code .jsonl}: results measured inside an emulated ARCH KVM host. */
    private static final Pattern EMULATED_HOST_FILE = Pattern.compile(".*-emulated-([a-z0-9_]+)\\.jsonl?");

    private final List<Series> series = new ArrayList<>();
    private final List<Note> notes = new ArrayList<>();
    /** The file names read in this run (results and notes): what --keep does not carry over. */
    private final Set<String> inputs = new HashSet<>();

    /**
     * A paragraph under the machine: how some results were made.
     *
     * @param text the paragraph (markdown)
     * @param source the note file it came from (a part's {@code PART.note}), or null for a note given as text
     */
    public record Note(String text, String source) {
    }
    private static final String JMH_JVM = "JMH JVM";
    /** The machine table's lines that come from the results (the JVM that ran JMH), not from this machine. */
    private final Map<String, String> jvmOfJmh = new LinkedHashMap<>();

    public static void main(String[] args) throws IOException {
        ResultsTable table = new ResultsTable();
        Path md = Path.of("docs/benchmarks.md");
        Path json = Path.of("docs/benchmarks.json");
        String title = "Mesovirt benchmarks";
        Path keep = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--jmh" -> table.addJmh(Path.of(need(args[i], value)));
                case "--lines" -> table.addLines(Path.of(need(args[i], value)));
                case "--md" -> md = Path.of(need(args[i], value));
                case "--json" -> json = Path.of(need(args[i], value));
                case "--title" -> title = need(args[i], value);
                case "--note" -> table.addNote(need(args[i], value));
                case "--note-file" -> table.addNoteFile(Path.of(need(args[i], value)));
                case "--keep" -> keep = Path.of(need(args[i], value));
                default -> {
                    System.err.println("ResultsTable: unknown argument " + args[i]);
                    System.exit(2);
                }
            }
            i++;
        }
        if (keep != null) {
            table.keep(keep); // after every input: it keeps what they did not measure
        }
        Map<String, String> machine = machine();
        machine.putAll(table.machineOfResults());
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        write(md, table.markdown(title, machine, now));
        write(json, table.json(machine, now));
        System.out.println("ResultsTable: " + table.series.size() + " series -> " + md + ", " + json);
    }

    private static String need(String option, String value) {
        if (value == null) {
            System.err.println("ResultsTable: " + option + " needs a value");
            System.exit(2);
        }
        return value;
    }

    private static void write(Path path, String text) throws IOException {
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        Files.writeString(path, text, StandardCharsets.UTF_8);
    }

    public List<Series> series() {
        return List.copyOf(series);
    }

    public List<Note> notes() {
        return List.copyOf(notes);
    }

    /** The machine table's lines that come from the results read or kept (the JVM that ran JMH). */
    public Map<String, String> machineOfResults() {
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(jvmOfJmh));
    }

    /** Adds a note given as text (kept by no later table: it is made again each time). */
    public void addNote(String text) {
        notes.add(new Note(text, null));
    }

    /** Adds a part's note file (its whole text, one paragraph); a missing file adds nothing. */
    public void addNoteFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            System.err.println("ResultsTable: no " + file);
            return;
        }
        String name = file.getFileName().toString();
        inputs.add(name);
        notes.add(new Note(Files.readString(file).strip(), name));
    }

    /**
     * Carries over from a previous {@code benchmarks.json} the series whose source files are none of this run's
     * inputs, and its note files that are not; a missing file keeps nothing. Then orders the series and notes by
     * their files.
     */
    public void keep(Path previous) throws IOException {
        if (!Files.isRegularFile(previous)) {
            System.err.println("ResultsTable: nothing to keep, no " + previous);
            return;
        }
        JsonObject root = JsonParser.parseString(Files.readString(previous)).getAsJsonObject();
        int kept = 0;
        for (JsonElement e : root.getAsJsonArray("series")) {
            JsonObject o = e.getAsJsonObject();
            String source = o.get("source").getAsString();
            if (Arrays.stream(source.split(", ")).anyMatch(inputs::contains)
                    || find(o.get("name").getAsString()) != null) {
                continue;
            }
            List<Double> samples = new ArrayList<>();
            for (JsonElement v : o.getAsJsonArray("samples")) {
                samples.add(v.getAsDouble());
            }
            series.add(Series.of(o.get("name").getAsString(), o.get("figure").getAsString(),
                    o.get("variant").getAsString(), o.get("unit").getAsString(), o.get("better").getAsString(),
                    text(o, "peer", null), samples, source));
            kept++;
        }
        if (root.has("notes")) { // tables from before notes were in the JSON have none to keep
            for (JsonElement e : root.getAsJsonArray("notes")) {
                JsonObject o = e.getAsJsonObject();
                String source = text(o, "source", null);
                if (source != null && !inputs.contains(source)) {
                    notes.add(new Note(o.get("text").getAsString(), source));
                }
            }
        }
        // The JVM that ran JMH is a line of the machine table, read from the JMH files: when this run read none and
        // kept rows of some, the kept table's line stays with them instead of vanishing.
        boolean keptJmh = series.stream().anyMatch(s -> s.source().split(", ")[0].endsWith(".json")
                && !inputs.contains(s.source().split(", ")[0]));
        if (jvmOfJmh.isEmpty() && keptJmh && root.has("machine") && root.getAsJsonObject("machine").has(JMH_JVM)) {
            jvmOfJmh.put(JMH_JVM, root.getAsJsonObject("machine").get(JMH_JVM).getAsString());
        }
        if (kept > 0) {
            // The machine above is this run's: say which rows are not from it.
            Set<String> files = new java.util.TreeSet<>();
            for (Series s : series) {
                if (!inputs.contains(s.source().split(", ")[0])) {
                    files.add(s.source());
                }
            }
            addNote(kept + " rows are kept as they were from the table this one replaced (generated "
                    + text(root, "generated", "?") + "), their files not measured again: " + String.join(", ", files)
                    + ". Their parts' notes say when and where they were measured.");
        }
        series.sort(Comparator.comparing(ResultsTable::fileOrder));
        // Notes given as text first (the machine's), then the note files by name.
        notes.sort(Comparator.comparing((Note n) -> n.source() != null)
                .thenComparing(n -> n.source() == null ? "" : n.source()));
        System.err.println("ResultsTable: kept " + kept + " series from " + previous);
    }

    /** JMH's files (.json) before the scripts' (.jsonl), each by name: the order jmh/run.sh passes them in. */
    private static String fileOrder(Series s) {
        String first = s.source().split(", ")[0];
        return (first.endsWith(".json") ? "0 " : "1 ") + first;
    }

    /** Reads a JMH JSON result file; a missing or empty file adds nothing. */
    public void addJmh(Path file) throws IOException {
        if (!Files.isRegularFile(file) || Files.size(file) == 0) {
            System.err.println("ResultsTable: no JMH results in " + file);
            return;
        }
        inputs.add(file.getFileName().toString());
        addJmh(JsonParser.parseString(Files.readString(file)).getAsJsonArray(), file.getFileName().toString());
    }

    void addJmh(JsonArray results, String source) {
        for (JsonElement e : results) {
            JsonObject r = e.getAsJsonObject();
            String benchmark = r.get("benchmark").getAsString();
            String simple = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
            Map<String, String> params = new TreeMap<>();
            if (r.has("params")) {
                for (Map.Entry<String, JsonElement> p : r.getAsJsonObject("params").entrySet()) {
                    params.put(p.getKey(), p.getValue().getAsString());
                }
            }
            JsonObject metric = r.getAsJsonObject("primaryMetric");
            List<Double> samples = new ArrayList<>();
            for (JsonElement fork : metric.getAsJsonArray("rawData")) {
                for (JsonElement v : fork.getAsJsonArray()) {
                    samples.add(v.getAsDouble());
                }
            }
            if (samples.isEmpty()) {
                continue;
            }
            String name = "jmh." + simple + (params.isEmpty() ? "" : params.toString().replace('{', '[').replace('}', ']'));
            add(inHost(describeJmh(name, simple, params, metric.get("scoreUnit").getAsString(), samples, source)));
            if (r.has("jdkVersion")) {
                jvmOfJmh.put(JMH_JVM, r.get("jdkVersion").getAsString() + " (" + r.get("vmName").getAsString() + " "
                        + r.get("vmVersion").getAsString() + ")");
            }
        }
    }

    /** Labels for the benchmarks of this module; anything else is shown by its name and parameters. */
    static Series describeJmh(String name, String simple, Map<String, String> params, String unit, List<Double> samples,
            String source) {
        String better = unit.endsWith("/s") ? "higher" : "lower";
        switch (simple) {
            case "ExitPathBenchmark.vcpuLoop", "ExitPathBenchmark.vcpuRun" -> {
                String kind = params.getOrDefault("exit", "?");
                String figure = "guest exit round trip, " + (kind.equals("pio") ? "port I/O write" : "MMIO write");
                String variant = simple.endsWith("vcpuLoop")
                        ? "Mesovirt VcpuLoop (KVM_RUN via JNA, decode, bus dispatch)"
                        : "Mesovirt Vcpu.run() only (KVM_RUN via JNA, decode)";
                return Series.of(name, figure, variant, unit.replace("/op", "/exit"), better, "exit.c." + kind,
                        samples, source);
            }
            case "VirtqueueBenchmark.blk" -> {
                String variant = params.getOrDefault("op", "?") + ", " + params.getOrDefault("layout", "?")
                        + " descriptors";
                return Series.of(name, "virtio-blk 4 KiB requests, device path in-process (tmpfs image)", variant,
                        unit.replace("ops/", "requests/"), better, null, samples, source);
            }
            case "VirtqueueBenchmark.blkScattered" -> {
                return Series.of(name, "virtio-blk 128 KiB requests of 32 scattered 4 KiB pages, device path in-process"
                        + " (tmpfs image)", params.getOrDefault("op", "?") + ", indirect descriptors",
                        unit.replace("ops/", "requests/"), better, null, samples, source);
            }
            case "VirtqueueBenchmark.queueOnly" -> {
                return Series.of(name, "split virtqueue: pop + addUsed only (no device)",
                        params.getOrDefault("layout", "?") + " descriptors", unit.replace("ops/", "chains/"), better,
                        null, samples, source);
            }
            case "BootBenchmark.toMarker", "BootBenchmark.toPowerOff" -> {
                String vmm = params.getOrDefault("vmm", "?");
                String cpus = params.getOrDefault("vcpus", "?");
                String arch = params.getOrDefault("arch", "x86_64"); // results from before the parameter: x86_64
                String figure = "boot, VMM start -> " + (simple.endsWith("toMarker") ? "guest marker (GUEST-READY)"
                        : "VMM exit after guest power-off") + ", " + cpus + " vCPU" + (cpus.equals("1") ? "" : "s")
                        + " (emulated " + arch + " KVM host)";
                String peer = vmm.equals("mesovirt") ? name.replace("vmm=mesovirt", "vmm=qemu") : null;
                // Results from before the parameter were all microvm. The q35 rows share the microvm rows' figure,
                // (and virt's) so that the four are side by side; their labels say what differs (the disk, QEMU's firmware).
                String machine = params.getOrDefault("machine", "microvm");
                String variant = switch (machine + "/" + vmm) {
                    case "microvm/mesovirt" -> "Mesovirt microvm";
                    case "microvm/qemu" -> arch.equals("x86_64") ? "QEMU microvm" : "QEMU virt";
                    case "q35/mesovirt" -> "Mesovirt q35, virtio-blk-pci disk (loads the kernel itself)";
                    case "q35/qemu" -> "QEMU q35, virtio-blk-pci disk (SeaBIOS loads the kernel: firmware included)";
                    case "virt/mesovirt" -> "Mesovirt virt, virtio-blk-pci disk";
                    case "virt/qemu" -> "QEMU virt, virtio-blk-pci disk";
                    default -> "machine=" + machine + ", vmm=" + vmm;
                };
                return Series.of(name, figure, variant, unit, better, peer, samples, source);
            }
            default -> {
                return Series.of(name, simple, params.isEmpty() ? "-" : params.toString(), unit, better, null, samples,
                        source);
            }
        }
    }

    /**
     * A benchmark that runs natively can also run inside the emulated KVM host (ci/bench/exit-emulated.sh) and then
     * writes the same series names into a file named {@code ...-emulated-ARCH.json(l)}. Those series get the host in
     * their name, peer and figure, so that they are rows of their own next to the native ones instead of more
     * samples of them. Series from any other file are returned as they are.
     */
    static Series inHost(Series s) {
        Matcher m = EMULATED_HOST_FILE.matcher(s.source());
        if (!m.matches()) {
            return s;
        }
        String tag = "@emulated-" + m.group(1);
        return new Series(s.name() + tag, s.figure() + " (emulated " + m.group(1) + " KVM host)", s.variant(),
                s.unit(), s.better(), s.peer() == null ? null : s.peer() + tag, s.samples(), s.source());
    }

    /** Adds a series; one whose name is already there adds its samples to it (e.g. a script run twice). */
    void add(Series s) {
        for (int i = 0; i < series.size(); i++) {
            Series old = series.get(i);
            if (old.name().equals(s.name())) {
                double[] a = old.samples();
                double[] b = s.samples();
                double[] both = Arrays.copyOf(a, a.length + b.length);
                System.arraycopy(b, 0, both, a.length, b.length);
                String source = old.source().equals(s.source()) ? old.source() : old.source() + ", " + s.source();
                series.set(i, new Series(old.name(), old.figure(), old.variant(), old.unit(), old.better(), old.peer(),
                        both, source));
                return;
            }
        }
        series.add(s);
    }

    /**
     * Reads a JSON-lines file of the scripts; a missing file adds nothing, a bad line is reported and skipped, a line
     * of a series already read adds its samples to it.
     */
    public void addLines(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            System.err.println("ResultsTable: no " + file);
            return;
        }
        inputs.add(file.getFileName().toString());
        int n = 0;
        for (String line : Files.readAllLines(file)) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            try {
                Series s = parseLine(line, file.getFileName().toString());
                if (s != null) {
                    add(inHost(s));
                }
            } catch (RuntimeException e) {
                System.err.println("ResultsTable: " + file + ":" + n + ": skipped (" + e.getMessage() + ")");
            }
        }
    }

    static Series parseLine(String line, String source) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        List<Double> samples = new ArrayList<>();
        for (JsonElement v : o.getAsJsonArray("samples")) {
            samples.add(v.getAsDouble());
        }
        if (samples.isEmpty()) {
            return null;
        }
        String name = o.get("name").getAsString();
        return Series.of(name, text(o, "figure", name), text(o, "variant", name), text(o, "unit", ""),
                text(o, "better", "lower"), text(o, "peer", null), samples, source);
    }

    private static String text(JsonObject o, String key, String otherwise) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : otherwise;
    }

    Series find(String name) {
        for (Series s : series) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** The ratio of a series' median to its peer's median, or NaN without a peer (or with another unit). */
    double ratio(Series s) {
        Series p = s.peer() == null ? null : find(s.peer());
        if (p == null || !p.unit().equals(s.unit()) || p.median() == 0) {
            return Double.NaN;
        }
        return s.median() / p.median();
    }

    String markdown(String title, Map<String, String> machine, Instant when) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(title).append("\n\n");
        b.append("Generated by `dev.mesovirt.jmh.report.ResultsTable` on ").append(when)
                .append(" from the files named in each row; how to run them: `jmh/README.md`. ")
                .append("Spread is min–max of the samples (JMH: every measurement iteration; scripts: every run). ")
                .append("The ratio is this row's median over its peer's median (the peer row is named); with ")
                .append("\"lower is better\" a ratio above 1 means slower than the peer.\n\n");
        b.append("## Machine\n\n| | |\n|---|---|\n");
        for (Map.Entry<String, String> e : machine.entrySet()) {
            b.append("| ").append(e.getKey()).append(" | ").append(cell(e.getValue())).append(" |\n");
        }
        for (Note note : notes) {
            b.append("\n").append(note.text()).append("\n");
        }
        Map<String, List<Series>> byFigure = new LinkedHashMap<>();
        for (Series s : series) {
            byFigure.computeIfAbsent(s.figure(), k -> new ArrayList<>()).add(s);
        }
        for (Map.Entry<String, List<Series>> f : byFigure.entrySet()) {
            Series first = f.getValue().get(0);
            b.append("\n## ").append(f.getKey()).append("\n\n");
            b.append("Unit: ").append(first.unit()).append(", ").append(first.better()).append(" is better.\n\n");
            b.append("| Variant | Median | Spread (min–max) | n | Ratio to peer | Peer | Source |\n");
            b.append("|---|--:|--:|--:|--:|---|---|\n");
            for (Series s : f.getValue()) {
                Series p = s.peer() == null ? null : find(s.peer());
                double r = ratio(s);
                b.append("| ").append(cell(s.variant()))
                        .append(" | ").append(number(s.median()))
                        .append(" | ").append(number(s.min())).append("–").append(number(s.max()))
                        .append(" | ").append(s.n())
                        .append(" | ").append(Double.isNaN(r) ? "" : String.format(Locale.ROOT, "%.2f×", r))
                        .append(" | ").append(p == null ? "" : cell(p.variant()))
                        .append(" | ").append(cell(s.source()))
                        .append(" |\n");
            }
        }
        return b.toString();
    }

    String json(Map<String, String> machine, Instant when) {
        JsonObject root = new JsonObject();
        root.addProperty("generated", when.toString());
        JsonObject m = new JsonObject();
        machine.forEach(m::addProperty);
        root.add("machine", m);
        JsonArray notesJson = new JsonArray();
        for (Note n : notes) {
            JsonObject o = new JsonObject();
            if (n.source() != null) {
                o.addProperty("source", n.source());
            }
            o.addProperty("text", n.text());
            notesJson.add(o);
        }
        root.add("notes", notesJson);
        JsonArray all = new JsonArray();
        for (Series s : series) {
            JsonObject o = new JsonObject();
            o.addProperty("name", s.name());
            o.addProperty("figure", s.figure());
            o.addProperty("variant", s.variant());
            o.addProperty("unit", s.unit());
            o.addProperty("better", s.better());
            o.addProperty("median", s.median());
            o.addProperty("min", s.min());
            o.addProperty("max", s.max());
            o.addProperty("n", s.n());
            if (s.peer() != null) {
                o.addProperty("peer", s.peer());
                double r = ratio(s);
                if (!Double.isNaN(r)) {
                    o.addProperty("ratioToPeer", Math.round(r * 1000) / 1000.0);
                }
            }
            JsonArray samples = new JsonArray();
            for (double v : s.samples()) {
                samples.add(v);
            }
            o.add("samples", samples);
            o.addProperty("source", s.source());
            all.add(o);
        }
        root.add("series", all);
        return GSON.toJson(root) + "\n";
    }

    /** Three significant digits, at most one decimal for large values: 8123.4 -> 8123, 0.01234 -> 0.0123. */
    static String number(double v) {
        double a = Math.abs(v);
        if (a >= 1000) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static String cell(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }

    /** uname -a, CPU model, CPUs, memory, the KVM module, the JDK running this. */
    static Map<String, String> machine() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("uname -a", run("uname", "-a"));
        m.put("CPU", cpuModel());
        m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("memory", memTotal());
        m.put("KVM", kvmModules());
        m.put("JDK (ResultsTable)", System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vm.name") + ")");
        return m;
    }

    private static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? out : "?";
        } catch (IOException e) {
            return System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return "?";
    }

    private static String memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.1f GiB", kb / 1048576.0);
                }
            }
        } catch (IOException | NumberFormatException ignored) {
            // not Linux
        }
        return "?";
    }

    private static String kvmModules() {
        List<String> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/modules"))) {
                String name = line.split(" ", 2)[0];
                if (name.equals("kvm") || name.startsWith("kvm_")) {
                    found.add(name);
                }
            }
        } catch (IOException ignored) {
            // no /proc/modules
        }
        if (found.isEmpty()) {
            for (String name : List.of("kvm_pvm", "kvm_intel", "kvm_amd", "kvm")) {
                if (Files.isDirectory(Path.of("/sys/module", name))) {
                    found.add(name);
                }
            }
        }
        return (found.isEmpty() ? "?" : String.join(", ", found))
                + (Files.exists(Path.of("/dev/kvm")) ? "; /dev/kvm present" : "; no /dev/kvm");
    }
}
