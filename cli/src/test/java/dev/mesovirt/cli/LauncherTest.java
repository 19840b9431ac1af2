package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/mesovirt's Java selection and command line, with fake JDKs whose "java" prints its arguments one per line.
 * The launcher runs from a copy in the distribution layout (bin/ + lib/).
 */
class LauncherTest {
    private static final Path SCRIPT = Path.of("../bin/mesovirt");

    @TempDir
    Path tmp;
    private Path launcher;
    private Path lib;
    private Path jvms;
    private Path emptyPath;

    @BeforeEach
    void layout() throws IOException {
        assumeTrue(Files.isRegularFile(SCRIPT), "no ../bin/mesovirt (not run from cli/)");
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "no bash");
        Path bin = Files.createDirectories(tmp.resolve("dist/bin"));
        lib = Files.createDirectories(tmp.resolve("dist/lib"));
        Files.write(lib.resolve("mesovirt-cli.jar"), new byte[0]);
        launcher = Files.copy(SCRIPT, bin.resolve("mesovirt"), StandardCopyOption.COPY_ATTRIBUTES);
        jvms = Files.createDirectories(tmp.resolve("jvm"));
        emptyPath = Files.createDirectories(tmp.resolve("emptybin"));
        // bash needs readlink for PATH resolution; link just that, so no real java is visible.
        Files.createSymbolicLink(emptyPath.resolve("readlink"), Path.of("/usr/bin/readlink").toRealPath());
    }

    private Path fakeJdk(String name, String version) throws IOException {
        Path home = Files.createDirectories(jvms.resolve(name));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Test\"\nJAVA_VERSION=\"" + version + "\"\nOS_NAME=\"Linux\"\n");
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"JAVA=$0\" \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    private record Result(int exit, List<String> lines, String stderr) {
        String java() {
            return lines.isEmpty() ? "" : lines.get(0);
        }
    }

    private Result launch(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("/bin/bash", launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().put("PATH", emptyPath.toString());
        pb.environment().put("MESOVIRT_JVM_ROOT", jvms.toString());
        pb.environment().putAll(env);
        Path errFile = tmp.resolve("stderr");
        pb.redirectError(errFile.toFile());
        Process p = pb.start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Result(p.exitValue(), stdout.lines().toList(), Files.readString(errFile));
    }

    @Test
    void picksTheNewestJdkUnderTheJvmRoot() throws Exception {
        fakeJdk("jdk-17", "17.0.15");
        fakeJdk("jdk-21", "21.0.2");
        Path jdk25 = fakeJdk("jdk-25", "25");
        fakeJdk("jdk-8", "1.8.0_412");
        Result r = launch(Map.of(), "-kernel", "a b", "--help");
        assertEquals(0, r.exit(), r.stderr());
        assertEquals("JAVA=" + jdk25.resolve("bin/java"), r.java());
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:-UsePerfData", "-Xss512k", "-Xlog:disable", "-Xlog:all=warning:stderr",
                "-Djna.platform.library.path=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib:/usr/lib",
                "-Xshare:auto", "-cp",
                launcher.getParent() + "/../lib/*", "dev.mesovirt.cli.Main", "-kernel", "a b", "--help"),
                r.lines().subList(1, r.lines().size()));
    }

    /** The jailer's view: the JVM command, NUL-separated, nothing run, the VMM's main class whatever the name. */
    @Test
    void printsTheJvmCommandForTheJailer() throws Exception {
        Path jdk = fakeJdk("jdk-25", "25");
        Path jailer = Files.createSymbolicLink(launcher.resolveSibling("mesovirt-jailer"), Path.of("mesovirt"));
        List<String> command = new ArrayList<>(List.of("/bin/bash", jailer.toString(), "-kernel", "k"));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().put("PATH", emptyPath.toString());
        pb.environment().put("MESOVIRT_JVM_ROOT", jvms.toString());
        pb.environment().put("MESOVIRT_PRINT_COMMAND", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        assertTrue(out.endsWith("\0"), out);
        List<String> args = List.of(out.substring(0, out.length() - 1).split("\0", -1));
        assertEquals(jdk.resolve("bin/java").toString(), args.getFirst());
        assertEquals(List.of("-Xshare:auto", "-cp", launcher.getParent() + "/../lib/*", "dev.mesovirt.cli.Main"),
                args.subList(args.size() - 4, args.size()));
        // And run as mesovirt-jailer without it, the jailer's class.
        pb.environment().remove("MESOVIRT_PRINT_COMMAND");
        Process q = pb.start();
        List<String> lines = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(0, q.waitFor());
        assertEquals(List.of("dev.mesovirt.cli.jailer.Jailer", "-kernel", "k"), lines.subList(lines.size() - 3, lines.size()));
    }

    @Test
    void javaHomeWinsWhenNewEnough() throws Exception {
        fakeJdk("jdk-25", "25.0.3");
        Path jdk21 = fakeJdk("jdk-21", "21");
        Result r = launch(Map.of("JAVA_HOME", jdk21.toString()));
        assertEquals("JAVA=" + jdk21.resolve("bin/java"), r.java());
    }

    @Test
    void oldJavaHomeIsSkipped() throws Exception {
        Path jdk17 = fakeJdk("jdk-17", "17.0.1");
        Path jdk22 = fakeJdk("jdk-22", "22.0.1+8");
        Result r = launch(Map.of("JAVA_HOME", jdk17.toString()));
        assertEquals("JAVA=" + jdk22.resolve("bin/java"), r.java());
    }

    @Test
    void jdkWithoutJavaBinaryIsSkipped() throws Exception {
        Path jdk21 = fakeJdk("jdk-21", "21.0.1");
        Files.createDirectories(jvms.resolve("broken-99"));
        Files.writeString(jvms.resolve("broken-99/release"), "JAVA_VERSION=\"99\"\n");
        assertEquals("JAVA=" + jdk21.resolve("bin/java"), launch(Map.of()).java());
    }

    @Test
    void fallsBackToJavaOnPath() throws Exception {
        Path elsewhere = tmp.resolve("elsewhere");
        Files.createDirectories(elsewhere);
        Path jdk = fakeJdk("jdk-23", "23.0.1");
        // Move it out of the JVM root, reachable only through PATH (via a symlink, like /usr/bin/java).
        Path moved = Files.move(jdk, elsewhere.resolve("jdk-23"));
        Files.createSymbolicLink(emptyPath.resolve("java"), moved.resolve("bin/java"));
        assertEquals("JAVA=" + moved.resolve("bin/java"), launch(Map.of()).java());
    }

    @Test
    void noSuitableJava() throws Exception {
        Path jdk17 = fakeJdk("jdk-17", "17.0.1");
        fakeJdk("jdk-8", "1.8.0_412");
        Files.createSymbolicLink(emptyPath.resolve("java"), jdk17.resolve("bin/java"));
        Result r = launch(Map.of("JAVA_HOME", jdk17.toString()));
        assertEquals(1, r.exit());
        assertTrue(r.stderr().startsWith("mesovirt needs Java 21 or newer"), r.stderr());
        assertEquals(List.of(), r.lines());
    }

    @Test
    void extraJavaOptionsAndArchives() throws Exception {
        fakeJdk("jdk-25", "25");
        Result plain = launch(Map.of("MESOVIRT_JAVA_OPTS", "-Xmx64m  -Dx=*"));
        List<String> lines = plain.lines();
        int cp = lines.indexOf("-cp");
        assertEquals(List.of("-Xmx64m", "-Dx=*"), lines.subList(cp - 2, cp));

        Files.write(lib.resolve("mesovirt.jsa"), new byte[0]);
        List<String> cds = launch(Map.of()).lines();
        assertTrue(cds.contains("-XX:SharedArchiveFile=" + launcher.getParent() + "/../lib/mesovirt.jsa"), cds.toString());
        assertTrue(cds.contains("-Xshare:auto"), cds.toString());
        Files.write(lib.resolve("mesovirt.aot"), new byte[0]);
        List<String> aot = launch(Map.of()).lines();
        assertTrue(aot.contains("-XX:AOTCache=" + launcher.getParent() + "/../lib/mesovirt.aot"), aot.toString());
        // The JVM refuses to start with -Xshare:auto next to -XX:AOTCache.
        assertTrue(aot.stream().noneMatch(a -> a.startsWith("-Xshare") || a.startsWith("-XX:SharedArchiveFile")), aot.toString());
    }

    /**
     * A fake JDK for --train: its java appends its arguments to $FAKE_LOG (a "---" line after each run), writes the
     * archive named by -XX:AOTCache= or -XX:ArchiveClassesAtExit= as the real one would, copies the -kernel file to
     * $FAKE_KERNEL, and exits with $FAKE_RC (default 0).
     */
    private Path trainingJdk(String name, String version) throws IOException {
        Path home = fakeJdk(name, version);
        Files.writeString(home.resolve("bin/java"), """
                #!/bin/sh
                printf '%s\\n' "$@" >>"$FAKE_LOG"; echo --- >>"$FAKE_LOG"
                prev=
                for a in "$@"; do
                  case $a in -XX:AOTCache=*|-XX:ArchiveClassesAtExit=*) echo archive >"${a#*=}" ;; esac
                  [ "$prev" = -kernel ] && cp "$a" "$FAKE_KERNEL"
                  prev=$a
                done
                exit ${FAKE_RC:-0}
                """);
        // The training path uses a few external commands; the test PATH has only what is linked here.
        for (String tool : List.of("mktemp", "head", "rm", "mv", "tail", "cp")) {
            Path real = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(emptyPath.resolve(tool), (Files.exists(real) ? real : Path.of("/bin", tool)).toRealPath());
        }
        return home;
    }

    private Map<String, String> trainingEnv() throws IOException {
        Files.createDirectories(tmp.resolve("t"));
        return Map.of("FAKE_LOG", tmp.resolve("java.log").toString(), "FAKE_KERNEL", tmp.resolve("kernel").toString(),
                "TMPDIR", tmp.resolve("t").toString());
    }

    /** The arguments of each fake java run. */
    private List<List<String>> javaRuns() throws IOException {
        List<List<String>> runs = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String line : Files.readAllLines(tmp.resolve("java.log"))) {
            if (line.equals("---")) {
                runs.add(current);
                current = new ArrayList<>();
            } else {
                current.add(line);
            }
        }
        return runs;
    }

    @Test
    void trainWritesAnAotCacheOnJdk24AndLater() throws Exception {
        trainingJdk("jdk-25", "25.0.1");
        Result r = launch(trainingEnv(), "--train");
        assertEquals(0, r.exit(), r.stderr());
        assertEquals(List.of("mesovirt: wrote " + launcher.getParent() + "/../lib/mesovirt.aot"), r.lines());
        assertTrue(Files.exists(lib.resolve("mesovirt.aot")));
        assertTrue(Files.notExists(lib.resolve("mesovirt.jsa")));
        List<List<String>> runs = javaRuns();
        assertEquals(2, runs.size(), runs.toString());
        List<String> record = runs.get(0);
        assertTrue(record.contains("-XX:AOTMode=record") && !record.contains("-Xshare:auto"), record.toString());
        assertTrue(record.contains("dev.mesovirt.cli.Main") && record.contains("virtio-blk-device,drive=d0,id=blk0"), record.toString());
        List<String> create = runs.get(1);
        assertTrue(create.contains("-XX:AOTMode=create"), create.toString());
        assertTrue(create.stream().anyMatch(a -> a.startsWith("-XX:AOTCache=")), create.toString());
        // The training kernel is a valid bzImage whose 32- and 64-bit entry points pulse the i8042 reset line.
        byte[] kernel = Files.readAllBytes(tmp.resolve("kernel"));
        dev.mesovirt.arch.x86_64.boot.BzImage.parse(kernel);
        byte[] reset = {(byte) 0xb0, (byte) 0xfe, (byte) 0xe6, 0x64, (byte) 0xf4};
        assertEquals(5 * 512 + 8192, kernel.length);
        assertArrayEquals(reset, java.util.Arrays.copyOfRange(kernel, 5 * 512, 5 * 512 + 5));
        assertArrayEquals(reset, java.util.Arrays.copyOfRange(kernel, 5 * 512 + 0x200, 5 * 512 + 0x205));
        try (var left = Files.list(tmp.resolve("t"))) {
            assertEquals(List.of(), left.toList(), "the training's temporary directory is removed");
        }
    }

    @Test
    void trainWritesACdsArchiveBeforeJdk24OrWhenAsked() throws Exception {
        trainingJdk("jdk-21", "21.0.4");
        Result r = launch(trainingEnv(), "--train");
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(Files.exists(lib.resolve("mesovirt.jsa")));
        List<List<String>> runs = javaRuns();
        assertEquals(1, runs.size());
        assertTrue(runs.get(0).contains("-Xshare:auto"), runs.toString());
        assertTrue(runs.get(0).stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=")), runs.toString());

        Result aot = launch(trainingEnv(), "--train", "aot");
        assertEquals(1, aot.exit());
        assertTrue(aot.stderr().contains("--train aot needs JDK 24"), aot.stderr());
    }

    @Test
    void aFailedTrainingLeavesNoArchive() throws Exception {
        trainingJdk("jdk-25", "25");
        Files.write(lib.resolve("mesovirt.aot"), new byte[0]); // an old one is removed too
        Map<String, String> env = new java.util.HashMap<>(trainingEnv());
        env.put("FAKE_RC", "1");
        Result r = launch(env, "--train", "cds");
        assertEquals(1, r.exit());
        assertTrue(r.stderr().contains("mesovirt: --train cds failed (exit 1); no archive written"), r.stderr());
        assertTrue(Files.notExists(lib.resolve("mesovirt.aot")) && Files.notExists(lib.resolve("mesovirt.jsa")));
        assertEquals(1, launch(trainingEnv(), "--train", "jit").exit());
    }

    @Test
    void aotCacheNeedsJdk24() throws Exception {
        fakeJdk("jdk-21", "21");
        Files.write(lib.resolve("mesovirt.aot"), new byte[0]);
        for (String line : launch(Map.of()).lines()) {
            assertTrue(!line.startsWith("-XX:AOTCache"), line);
        }
    }

    @Test
    void noJars() throws Exception {
        fakeJdk("jdk-25", "25");
        Files.delete(lib.resolve("mesovirt-cli.jar"));
        Result r = launch(Map.of());
        assertEquals(1, r.exit());
        assertTrue(r.stderr().startsWith("mesovirt: no jars in "), r.stderr());
    }

    @Test
    void throughASymlink() throws Exception {
        Path jdk = fakeJdk("jdk-25", "25");
        Path link = Files.createSymbolicLink(tmp.resolve("mesovirt-link"), launcher);
        ProcessBuilder pb = new ProcessBuilder("/bin/bash", link.toString());
        pb.environment().put("MESOVIRT_JVM_ROOT", jvms.toString());
        pb.environment().remove("JAVA_HOME");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        p.waitFor();
        assertEquals("JAVA=" + jdk.resolve("bin/java"), lines.get(0));
        assertTrue(lines.contains(launcher.toRealPath().getParent() + "/../lib/*"), lines.toString());
    }
}
