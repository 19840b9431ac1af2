package dev.mesovirt.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Jazzer targets of the build: every {@code *FuzzTarget.java} under a module's {@code src/test/java}, the modules
 * being those the root pom lists, and the one {@code @FuzzTest} method each holds (Jazzer fuzzes one per JVM).
 */
final class FuzzTargets {
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    private static final Pattern FUZZ_TEST = Pattern.compile("@FuzzTest\\b[^\\n]*\\n\\s*(?:public\\s+)?void\\s+(\\w+)\\s*\\(");

    private FuzzTargets() {}

    /**
     * One target.
     *
     * @param module the module's directory name
     * @param className the class's fully qualified name
     * @param method the {@code @FuzzTest} method
     */
    record Target(String module, String className, String method) {
        String simpleName() {
            return className.substring(className.lastIndexOf('.') + 1);
        }

        /** As ci/fuzz-long.sh names it: module:class#method. */
        @Override
        public String toString() {
            return module + ":" + className + "#" + method;
        }
    }

    /** Every target under {@code root}, in the root pom's module order, then by class name. */
    static List<Target> discover(Path root) {
        List<Target> out = new ArrayList<>();
        for (String module : modules(root)) {
            Path sources = root.resolve(module).resolve("src/test/java");
            if (!Files.isDirectory(sources)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path f : files.filter(p -> p.getFileName().toString().endsWith("FuzzTarget.java"))
                        .sorted(Comparator.comparing(Path::toString)).toList()) {
                    out.add(target(module, f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    static List<String> modules(Path root) {
        try {
            Matcher m = MODULE.matcher(Files.readString(root.resolve("pom.xml")));
            List<String> out = new ArrayList<>();
            while (m.find()) {
                out.add(m.group(1).trim());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Target target(String module, Path source) throws IOException {
        String text = Files.readString(source);
        String file = source.getFileName().toString();
        String simple = file.substring(0, file.length() - ".java".length());
        Matcher p = PACKAGE.matcher(text);
        Matcher t = FUZZ_TEST.matcher(text);
        if (!p.find() || !t.find()) {
            throw new IllegalStateException(source + ": no package or no @FuzzTest method");
        }
        String method = t.group(1);
        if (t.find()) {
            throw new IllegalStateException(source + ": more than one @FuzzTest (Jazzer fuzzes one per JVM)");
        }
        return new Target(module, p.group(1) + "." + simple, method);
    }
}
