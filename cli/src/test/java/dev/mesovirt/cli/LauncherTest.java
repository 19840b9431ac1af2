package dev.mesovirt.cli;

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
                "-Xshare:auto", "-XX:-UsePerfData", "-Xss512k", "-cp", launcher.getParent() + "/../lib/*",
                "dev.mesovirt.cli.Main", "-kernel", "a b", "--help"), r.lines().subList(1, r.lines().size()));
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
        assertTrue(launch(Map.of()).lines().contains("-XX:SharedArchiveFile=" + launcher.getParent() + "/../lib/mesovirt.jsa"));
        Files.write(lib.resolve("mesovirt.aot"), new byte[0]);
        assertTrue(launch(Map.of()).lines().contains("-XX:AOTCache=" + launcher.getParent() + "/../lib/mesovirt.aot"));
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
