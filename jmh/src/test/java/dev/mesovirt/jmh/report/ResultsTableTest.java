package dev.mesovirt.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultsTableTest {
    @TempDir
    Path tmp;

    private static final String JMH = """
            [ {
                "jmhVersion" : "1.37", "benchmark" : "dev.mesovirt.jmh.ExitPathBenchmark.vcpuLoop", "mode" : "avgt",
                "threads" : 1, "forks" : 1, "jdkVersion" : "25.0.3", "vmName" : "OpenJDK 64-Bit Server VM",
                "vmVersion" : "25.0.3+9-LTS", "params" : { "exit" : "pio" },
                "primaryMetric" : { "score" : 7000.0, "scoreUnit" : "ns/op", "rawData" : [ [ 7000.0, 6000.0, 9000.0 ] ] },
                "secondaryMetrics" : { }
            }, {
                "jmhVersion" : "1.37", "benchmark" : "dev.mesovirt.jmh.VirtqueueBenchmark.blk", "mode" : "thrpt",
                "params" : { "diskDir" : "/dev/shm", "layout" : "indirect", "op" : "read" },
                "primaryMetric" : { "score" : 1.0E6, "scoreUnit" : "ops/s", "rawData" : [ [ 1.0E6, 2.0E6 ], [ 3.0E6 ] ] }
            } ]
            """;

    @Test
    void mediansSpreadsAndRatiosFromJmhAndScriptLines() throws Exception {
        Path jmh = Files.writeString(tmp.resolve("jmh.json"), JMH);
        Path lines = Files.writeString(tmp.resolve("exit.jsonl"), """
                {"name":"exit.c.pio","unit":"ns/exit","better":"lower","figure":"guest exit round trip, port I/O write","variant":"C","samples":[3000,4000,3500,3600]}
                not json
                {"name":"startup.strace.aot","peer":"startup.strace.qemu","unit":"ms","better":"lower","figure":"start","variant":"Mesovirt | AOT","samples":[300,500,400]}
                {"name":"startup.strace.qemu","unit":"ms","better":"lower","figure":"start","variant":"QEMU","samples":[100]}
                {"name":"empty","unit":"ms","samples":[]}
                {"name":"exit.c.pio","unit":"ns/exit","better":"lower","figure":"guest exit round trip, port I/O write","variant":"C","samples":[3550]}
                """);
        ResultsTable t = new ResultsTable();
        t.addJmh(jmh);
        t.addLines(lines);
        t.addLines(tmp.resolve("missing.jsonl"));
        assertEquals(5, t.series().size());

        Series loop = t.find("jmh.ExitPathBenchmark.vcpuLoop[exit=pio]");
        assertEquals("ns/exit", loop.unit());
        assertEquals(7000, loop.median());
        assertEquals(6000, loop.min());
        assertEquals(9000, loop.max());
        assertEquals("exit.c.pio", loop.peer());
        assertEquals(7000 / 3550.0, t.ratio(loop), 1e-9); // the second exit.c.pio line added a sample: median 3550
        assertEquals(5, t.find("exit.c.pio").n());

        Series blk = t.find("jmh.VirtqueueBenchmark.blk[diskDir=/dev/shm, layout=indirect, op=read]");
        assertEquals("requests/s", blk.unit());
        assertEquals("higher", blk.better());
        assertEquals(2e6, blk.median());
        assertEquals(3, blk.n());
        assertTrue(Double.isNaN(t.ratio(blk)));

        assertEquals(4.0, t.ratio(t.find("startup.strace.aot")), 1e-9);
        assertNull(t.find("empty"));

        String md = t.markdown("T", Map.of("CPU", "test"), Instant.EPOCH);
        assertTrue(md.contains("| Mesovirt \\| AOT | 400 | 300–500 | 3 | 4.00× | QEMU | exit.jsonl |"), md);
        assertTrue(md.contains("## guest exit round trip, port I/O write"), md);
        assertTrue(md.contains("| CPU | test |"), md);

        JsonObject json = JsonParser.parseString(t.json(Map.of("nproc", "2"), Instant.EPOCH)).getAsJsonObject();
        assertEquals("2", json.getAsJsonObject("machine").get("nproc").getAsString());
        JsonObject aot = json.getAsJsonArray("series").asList().stream().map(e -> e.getAsJsonObject())
                .filter(o -> o.get("name").getAsString().equals("startup.strace.aot")).findFirst().orElseThrow();
        assertEquals(4.0, aot.get("ratioToPeer").getAsDouble());
        assertEquals(400.0, aot.get("median").getAsDouble());
    }

    @Test
    void bootFiguresPairMesovirtWithQemu() {
        Map<String, String> params = new java.util.TreeMap<>(Map.of("vcpus", "2", "vmm", "mesovirt"));
        Series m = ResultsTable.describeJmh("jmh.BootBenchmark.toMarker[vcpus=2, vmm=mesovirt]",
                "BootBenchmark.toMarker", params, "ms/op", java.util.List.of(13000.0, 14000.0), "jmh-boot.json");
        assertEquals("jmh.BootBenchmark.toMarker[vcpus=2, vmm=qemu]", m.peer());
        assertEquals("Mesovirt microvm", m.variant()); // results from before the machine parameter: microvm
        assertTrue(m.figure().contains("2 vCPUs") && m.figure().contains("GUEST-READY"), m.figure());
        params.put("vmm", "qemu");
        Series q = ResultsTable.describeJmh("jmh.BootBenchmark.toPowerOff[vcpus=2, vmm=qemu]",
                "BootBenchmark.toPowerOff", params, "ms/op", java.util.List.of(20000.0), "jmh-boot.json");
        assertEquals(null, q.peer());
        assertTrue(q.figure().contains("power-off"), q.figure());
    }

    @Test
    void bootFiguresNameTheArchitectureAndItsQemuMachine() {
        Map<String, String> x86 = new java.util.TreeMap<>(Map.of("vcpus", "1", "vmm", "qemu"));
        Series old = ResultsTable.describeJmh("jmh.BootBenchmark.toMarker[vcpus=1, vmm=qemu]",
                "BootBenchmark.toMarker", x86, "ms/op", java.util.List.of(20000.0), "jmh-boot.json");
        assertTrue(old.figure().endsWith("(emulated x86_64 KVM host)"), old.figure());
        assertEquals("QEMU microvm", old.variant());
        Map<String, String> arm = new java.util.TreeMap<>(Map.of("arch", "aarch64", "vcpus", "1", "vmm", "mesovirt"));
        Series m = ResultsTable.describeJmh("jmh.BootBenchmark.toMarker[arch=aarch64, vcpus=1, vmm=mesovirt]",
                "BootBenchmark.toMarker", arm, "ms/op", java.util.List.of(9000.0), "jmh-boot-aarch64.json");
        assertTrue(m.figure().endsWith("1 vCPU (emulated aarch64 KVM host)"), m.figure());
        assertEquals("jmh.BootBenchmark.toMarker[arch=aarch64, vcpus=1, vmm=qemu]", m.peer());
        arm.put("vmm", "qemu");
        Series q = ResultsTable.describeJmh(m.peer(), "BootBenchmark.toMarker", arm, "ms/op",
                java.util.List.of(10000.0), "jmh-boot-aarch64.json");
        assertEquals("QEMU virt", q.variant());
        assertEquals(m.figure(), q.figure());
    }

    @Test
    void resultsOfTheEmulatedHostAreRowsOfTheirOwnNextToTheNativeOnes() throws Exception {
        String c = "{\"name\":\"exit.c.pio\",\"unit\":\"ns/exit\",\"better\":\"lower\","
                + "\"figure\":\"guest exit round trip, port I/O write\",\"variant\":\"C\",\"samples\":[%s]}\n";
        ResultsTable t = new ResultsTable();
        t.addJmh(Files.writeString(tmp.resolve("jmh-exit.json"), JMH));
        t.addJmh(Files.writeString(tmp.resolve("jmh-exit-emulated-x86_64.json"),
                JMH.replace("7000.0, 6000.0, 9000.0", "70000.0, 60000.0, 90000.0")));
        t.addLines(Files.writeString(tmp.resolve("exit-loop.jsonl"), c.formatted("3500")));
        t.addLines(Files.writeString(tmp.resolve("exit-loop-emulated-x86_64.jsonl"), c.formatted("20000,40000")));
        t.addLines(Files.writeString(tmp.resolve("blk.jsonl"), """
                {"name":"blk.read.mesovirt","peer":"blk.read.qemu","unit":"MB/s","better":"higher","figure":"read (emulated x86_64 KVM host)","variant":"Mesovirt","samples":[300,200]}
                {"name":"blk.read.qemu","unit":"MB/s","better":"higher","figure":"read (emulated x86_64 KVM host)","variant":"QEMU","samples":[100]}
                """));
        assertEquals(8, t.series().size());

        Series nativeLoop = t.find("jmh.ExitPathBenchmark.vcpuLoop[exit=pio]");
        assertEquals(7000, nativeLoop.median());
        assertEquals(2, t.ratio(nativeLoop), 1e-9);
        assertEquals(1, t.find("exit.c.pio").n());

        Series loop = t.find("jmh.ExitPathBenchmark.vcpuLoop[exit=pio]@emulated-x86_64");
        assertEquals("exit.c.pio@emulated-x86_64", loop.peer());
        assertEquals("guest exit round trip, port I/O write (emulated x86_64 KVM host)", loop.figure());
        assertEquals(70000, loop.median());
        assertEquals(70000 / 30000.0, t.ratio(loop), 1e-9);
        Series cEmulated = t.find("exit.c.pio@emulated-x86_64");
        assertEquals(2, cEmulated.n());
        assertNull(cEmulated.peer());
        assertEquals(loop.figure(), cEmulated.figure());

        assertEquals(2.5, t.ratio(t.find("blk.read.mesovirt")), 1e-9); // no host in the file name: names kept
        String md = t.markdown("T", Map.of(), Instant.EPOCH);
        assertTrue(md.contains("## guest exit round trip, port I/O write (emulated x86_64 KVM host)\n"), md);
        assertTrue(md.contains("| C | 30,000 | 20,000–40,000 | 2 |  |  | exit-loop-emulated-x86_64.jsonl |"), md);
        assertTrue(md.contains("## read (emulated x86_64 KVM host)\n\nUnit: MB/s, higher is better."), md);
        assertTrue(md.contains("| Mesovirt | 250 | 200–300 | 2 | 2.50× | QEMU | blk.jsonl |"), md);
    }

    /** Lines as ci/bench/snapshot-bench.sh writes them (from a run, samples shortened): two of its five figures. */
    private static final String SNAPSHOT_LINES = """
            {"name":"snapshot.save.mesovirt","peer":"snapshot.save.qemu","unit":"s","better":"lower","figure":"snapshot of the paused guest: migrate -> query-migrate \\"completed\\", -m 256 -smp 2 (emulated x86_64 KVM host)","variant":"Mesovirt microvm (file:DIR: state + sparse memory file; restore maps it)","samples":[1.864,1.230,1.039]}
            {"name":"snapshot.save.qemu","unit":"s","better":"lower","figure":"snapshot of the paused guest: migrate -> query-migrate \\"completed\\", -m 256 -smp 2 (emulated x86_64 KVM host)","variant":"QEMU 7.2.22 microvm (exec:cat > PATH: one stream, unthrottled; restore + cont)","samples":[4.963,5.114,5.794]}
            {"name":"snapshot.disk.mesovirt","peer":"snapshot.disk.qemu","unit":"MiB","better":"lower","figure":"snapshot size on disk (allocated blocks, tmpfs), -m 256 (emulated x86_64 KVM host)","variant":"Mesovirt microvm (file:DIR: state + sparse memory file; restore maps it)","samples":[95.0,94.0,94.0]}
            {"name":"snapshot.disk.qemu","unit":"MiB","better":"lower","figure":"snapshot size on disk (allocated blocks, tmpfs), -m 256 (emulated x86_64 KVM host)","variant":"QEMU 7.2.22 microvm (exec:cat > PATH: one stream, unthrottled; restore + cont)","samples":[94.5,94.4,94.4]}
            """;

    @Test
    void snapshotRowsOfTheBenchScriptPairMesovirtWithQemuAndKeepTheOtherParts() throws Exception {
        // An earlier table with another part's rows, whose file is not in this run's directory.
        ResultsTable before = new ResultsTable();
        before.addLines(Files.writeString(tmp.resolve("blk.jsonl"), """
                {"name":"blk.read.mesovirt","peer":"blk.read.qemu","unit":"MB/s","better":"higher","figure":"read","variant":"Mesovirt","samples":[300]}
                {"name":"blk.read.qemu","unit":"MB/s","better":"higher","figure":"read","variant":"QEMU","samples":[100]}
                """));
        Path previous = Files.writeString(tmp.resolve("previous.json"), before.json(Map.of(), Instant.EPOCH));

        Path now = Files.createDirectories(tmp.resolve("now"));
        ResultsTable t = new ResultsTable();
        t.addLines(Files.writeString(now.resolve("snapshot.jsonl"), SNAPSHOT_LINES));
        t.keep(previous);
        assertEquals(6, t.series().size());

        Series save = t.find("snapshot.save.mesovirt");
        assertEquals("s", save.unit());
        assertEquals("lower", save.better());
        assertEquals(1.230, save.median());
        assertEquals(1.230 / 5.114, t.ratio(save), 1e-9);
        assertTrue(Double.isNaN(t.ratio(t.find("snapshot.save.qemu")))); // the peer row itself has no ratio
        assertEquals(94.0 / 94.4, t.ratio(t.find("snapshot.disk.mesovirt")), 1e-9);
        assertEquals(3.0, t.ratio(t.find("blk.read.mesovirt")), 1e-9); // kept, with its ratio

        String md = t.markdown("T", Map.of(), Instant.EPOCH);
        assertTrue(md.contains("## snapshot of the paused guest: migrate -> query-migrate \"completed\", -m 256 -smp 2"
                + " (emulated x86_64 KVM host)\n\nUnit: s, lower is better."), md);
        assertTrue(md.contains("| Mesovirt microvm (file:DIR: state + sparse memory file; restore maps it) | 1.23 | "
                + "1.04–1.86 | 3 | 0.24× | QEMU 7.2.22 microvm (exec:cat > PATH: one stream, unthrottled; restore + "
                + "cont) | snapshot.jsonl |"), md);
        assertTrue(md.contains("| 94.0 | 94.0–95.0 | 3 | 1.00× |"), md);
        // Rows by file name: the kept blk.jsonl before snapshot.jsonl.
        assertEquals(java.util.List.of("blk.jsonl", "blk.jsonl", "snapshot.jsonl", "snapshot.jsonl", "snapshot.jsonl",
                "snapshot.jsonl"), t.series().stream().map(Series::source).toList());
        JsonObject json = JsonParser.parseString(t.json(Map.of(), Instant.EPOCH)).getAsJsonObject();
        JsonObject row = json.getAsJsonArray("series").asList().stream().map(e -> e.getAsJsonObject())
                .filter(o -> o.get("name").getAsString().equals("snapshot.save.mesovirt")).findFirst().orElseThrow();
        assertEquals(0.241, row.get("ratioToPeer").getAsDouble());
        assertEquals("snapshot.save.qemu", row.get("peer").getAsString());
    }

    @Test
    void keptJmhRowsKeepTheJvmThatRanThemInTheMachineTable() throws Exception {
        ResultsTable before = new ResultsTable();
        before.addJmh(Files.writeString(tmp.resolve("jmh-exit.json"), JMH));
        assertEquals(Map.of("JMH JVM", "25.0.3 (OpenJDK 64-Bit Server VM 25.0.3+9-LTS)"), before.machineOfResults());
        Map<String, String> machine = new java.util.LinkedHashMap<>(Map.of("nproc", "2"));
        machine.putAll(before.machineOfResults());
        Path previous = Files.writeString(tmp.resolve("previous.json"), before.json(machine, Instant.EPOCH));

        Path now = Files.createDirectories(tmp.resolve("now"));
        ResultsTable onlyLines = new ResultsTable(); // e.g. jmh/run.sh --only table after a ci/bench script
        onlyLines.addLines(Files.writeString(now.resolve("snapshot.jsonl"), SNAPSHOT_LINES));
        onlyLines.keep(previous);
        assertEquals(Map.of("JMH JVM", "25.0.3 (OpenJDK 64-Bit Server VM 25.0.3+9-LTS)"), onlyLines.machineOfResults());

        ResultsTable jmhAgain = new ResultsTable(); // the JMH file measured again: its own JVM
        jmhAgain.addJmh(Files.writeString(now.resolve("jmh-exit.json"), JMH.replace("\"25.0.3\"", "\"26\"")));
        jmhAgain.keep(previous);
        assertEquals("26 (OpenJDK 64-Bit Server VM 25.0.3+9-LTS)", jmhAgain.machineOfResults().get("JMH JVM"));

        ResultsTable noJmhKept = new ResultsTable(); // no JMH rows in the table at all: no JMH JVM line
        noJmhKept.addLines(Files.writeString(now.resolve("snapshot.jsonl"), SNAPSHOT_LINES));
        noJmhKept.keep(Files.writeString(tmp.resolve("lines-only.json"),
                onlyLines.json(Map.of("JMH JVM", "stale"), Instant.EPOCH).replace("\"jmh-exit.json\"", "\"x.jsonl\"")));
        assertEquals(Map.of(), noJmhKept.machineOfResults());
    }

    @Test
    void q35BootRowsPairWithQemuQ35InTheMicrovmRowsFigure() {
        Map<String, String> params = new java.util.TreeMap<>(Map.of("machine", "q35", "vcpus", "1", "vmm",
                "mesovirt"));
        String name = "jmh.BootBenchmark.toMarker[arch=x86_64, machine=q35, vcpus=1, vmm=mesovirt]";
        Series m = ResultsTable.describeJmh(name, "BootBenchmark.toMarker", params, "ms/op",
                java.util.List.of(13000.0), "jmh-boot.json");
        assertEquals("jmh.BootBenchmark.toMarker[arch=x86_64, machine=q35, vcpus=1, vmm=qemu]", m.peer());
        assertTrue(m.variant().startsWith("Mesovirt q35"), m.variant());
        params.put("vmm", "qemu");
        Series q = ResultsTable.describeJmh(m.peer(), "BootBenchmark.toMarker", params, "ms/op",
                java.util.List.of(20000.0), "jmh-boot.json");
        assertTrue(q.variant().startsWith("QEMU q35") && q.variant().contains("SeaBIOS"), q.variant());
        params.put("machine", "microvm");
        Series micro = ResultsTable.describeJmh(name.replace("q35", "microvm"), "BootBenchmark.toMarker", params,
                "ms/op", java.util.List.of(20000.0), "jmh-boot.json");
        assertEquals("QEMU microvm", micro.variant());
        assertEquals(micro.figure(), m.figure());
    }

    @Test
    void virtBootRowsPairWithQemuVirtWithTheirDisk() {
        Map<String, String> params = new java.util.TreeMap<>(Map.of("arch", "aarch64", "machine", "virt", "vcpus",
                "2", "vmm", "mesovirt"));
        String name = "jmh.BootBenchmark.toPowerOff[arch=aarch64, machine=virt, vcpus=2, vmm=mesovirt]";
        Series m = ResultsTable.describeJmh(name, "BootBenchmark.toPowerOff", params, "ms/op",
                java.util.List.of(30000.0), "jmh-boot-aarch64.json");
        assertEquals(name.replace("mesovirt", "qemu"), m.peer());
        assertEquals("Mesovirt virt, virtio-blk-pci disk", m.variant());
        params.put("vmm", "qemu");
        Series q = ResultsTable.describeJmh(m.peer(), "BootBenchmark.toPowerOff", params, "ms/op",
                java.util.List.of(31000.0), "jmh-boot-aarch64.json");
        assertEquals("QEMU virt, virtio-blk-pci disk", q.variant());
        assertTrue(m.figure().contains("emulated aarch64 KVM host"), m.figure());
    }

    @Test
    void keepCarriesOverTheRowsAndNoteFilesOfPartsNotMeasuredAgain() throws Exception {
        String line = "{\"name\":\"%s\",\"unit\":\"ms\",\"better\":\"lower\",\"figure\":\"%s\","
                + "\"variant\":\"V\",\"samples\":[%s]}\n";
        ResultsTable before = new ResultsTable();
        before.addLines(Files.writeString(tmp.resolve("blk.jsonl"), line.formatted("blk.old", "blk", "1,2")));
        before.addLines(Files.writeString(tmp.resolve("memory.jsonl"), line.formatted("memory.m", "memory", "5")));
        before.addJmh(Files.writeString(tmp.resolve("jmh-exit.json"), JMH));
        before.addNoteFile(Files.writeString(tmp.resolve("blk.note"), "**blk** old\n"));
        before.addNoteFile(Files.writeString(tmp.resolve("memory.note"), "**memory** kept\n"));
        Path previous = Files.writeString(tmp.resolve("previous.json"), before.json(Map.of(), Instant.EPOCH));

        Path again = Files.createDirectories(tmp.resolve("again"));
        ResultsTable t = new ResultsTable();
        t.addNoteFile(Files.writeString(again.resolve("blk.note"), "**blk** new"));
        t.addLines(Files.writeString(again.resolve("blk.jsonl"), line.formatted("blk.new", "blk", "3")));
        t.addNote("This machine"); // after a note file: the text notes still come first
        t.keep(previous);
        t.keep(tmp.resolve("missing.json"));

        assertNull(t.find("blk.old")); // its file was measured again: its rows go
        assertEquals(3, t.find("blk.new").median());
        assertEquals(5, t.find("memory.m").median());
        assertEquals("memory.jsonl", t.find("memory.m").source());
        assertEquals(7000, t.find("jmh.ExitPathBenchmark.vcpuLoop[exit=pio]").median());
        assertEquals("exit.c.pio", t.find("jmh.ExitPathBenchmark.vcpuLoop[exit=pio]").peer());
        // JMH's files first, then the lines, by file name.
        assertEquals(java.util.List.of("jmh-exit.json", "jmh-exit.json", "blk.jsonl", "memory.jsonl"),
                t.series().stream().map(Series::source).toList());
        java.util.List<String> notes = t.notes().stream().map(ResultsTable.Note::text).toList();
        assertEquals(4, notes.size(), notes.toString());
        assertEquals("This machine", notes.get(0));
        assertTrue(notes.get(1).startsWith("3 rows are kept as they were from the table this one replaced (generated "
                + "1970-01-01T00:00:00Z), their files not measured again: jmh-exit.json, memory.jsonl."), notes.get(1));
        assertEquals(java.util.List.of("**blk** new", "**memory** kept"), notes.subList(2, 4));
        JsonObject json = JsonParser.parseString(t.json(Map.of(), Instant.EPOCH)).getAsJsonObject();
        assertEquals("memory.note", json.getAsJsonArray("notes").get(3).getAsJsonObject().get("source").getAsString());
        assertNull(json.getAsJsonArray("notes").get(0).getAsJsonObject().get("source"));
    }

    @Test
    void numbersKeepThreeSignificantDigits() {
        assertEquals("8,123", ResultsTable.number(8123.4));
        assertEquals("812", ResultsTable.number(812.34));
        assertEquals("81.2", ResultsTable.number(81.234));
        assertEquals("8.12", ResultsTable.number(8.1234));
        assertEquals("0.0123", ResultsTable.number(0.012345));
    }

    @Test
    void theMachineIsDescribed() {
        Map<String, String> m = ResultsTable.machine();
        assertTrue(m.containsKey("uname -a") && m.containsKey("CPU") && m.containsKey("nproc") && m.containsKey("KVM"));
    }
}
