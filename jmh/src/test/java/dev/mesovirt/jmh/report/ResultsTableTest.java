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
        assertEquals("Mesovirt", m.variant());
        assertTrue(m.figure().contains("2 vCPUs") && m.figure().contains("GUEST-READY"), m.figure());
        params.put("vmm", "qemu");
        Series q = ResultsTable.describeJmh("jmh.BootBenchmark.toPowerOff[vcpus=2, vmm=qemu]",
                "BootBenchmark.toPowerOff", params, "ms/op", java.util.List.of(20000.0), "jmh-boot.json");
        assertEquals(null, q.peer());
        assertTrue(q.figure().contains("power-off"), q.figure());
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
