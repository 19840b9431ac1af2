package dev.mesovirt.vmm.seccomp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One architecture's allow-list: the system calls (name and number) the VMM may make once its filter is in, with
 * the architecture's {@code AUDIT_ARCH_*} value and the number of seccomp(2) itself, which installs it. Read from a
 * small text file each architecture module keeps next to its code (see {@link #parse}), so that the list is in one
 * readable place per architecture and a unit test can check every number against the kernel's headers.
 *
 * @param arch the ISA name ({@code x86_64}, ...)
 * @param auditArch {@code seccomp_data.arch} for this ISA's native ABI
 * @param seccompNumber {@code __NR_seccomp}
 * @param allowed name to number, in the file's order (hot calls first: the filter tests them in this order)
 */
public record SyscallTable(String arch, int auditArch, int seccompNumber, Map<String, Integer> allowed) {
    public SyscallTable {
        allowed = Collections.unmodifiableMap(new LinkedHashMap<>(allowed));
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException(arch + ": empty allow-list");
        }
        if (allowed.values().stream().distinct().count() != allowed.size()) {
            throw new IllegalArgumentException(arch + ": a syscall number appears twice in the allow-list");
        }
    }

    /** The number of {@code name} in this table; an error if it is not in the allow-list. */
    public int number(String name) {
        Integer n = allowed.get(name);
        if (n == null) {
            throw new IllegalArgumentException(arch + ": " + name + " is not in the allow-list");
        }
        return n;
    }

    /**
     * Parses the text form: {@code #} starts a comment; blank lines are ignored; the lines
     * {@code arch NAME}, {@code audit-arch HEX} and {@code install seccomp NUMBER} once each; every other line is
     * {@code SYSCALL NUMBER}, an allowed call.
     */
    public static SyscallTable parse(String text, String source) {
        String arch = null;
        Integer audit = null;
        Integer seccomp = null;
        Map<String, Integer> allowed = new LinkedHashMap<>();
        int lineNo = 0;
        for (String raw : text.split("\n", -1)) {
            lineNo++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] w = line.split("\\s+");
            String where = source + ":" + lineNo + ": ";
            try {
                if (w[0].equals("arch") && w.length == 2 && arch == null) {
                    arch = w[1];
                } else if (w[0].equals("audit-arch") && w.length == 2 && audit == null) {
                    audit = Integer.parseUnsignedInt(strip0x(w[1]), 16);
                } else if (w[0].equals("install") && w.length == 3 && w[1].equals("seccomp") && seccomp == null) {
                    seccomp = Integer.parseInt(w[2]);
                } else if (w.length == 2 && w[0].matches("[a-z_][a-z0-9_]*")) {
                    if (allowed.put(w[0], Integer.parseInt(w[1])) != null) {
                        throw new IllegalArgumentException(where + w[0] + " listed twice");
                    }
                } else {
                    throw new IllegalArgumentException(where + "expected 'SYSCALL NUMBER', not '" + line + "'");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + "bad number in '" + line + "'", e);
            }
        }
        if (arch == null || audit == null || seccomp == null) {
            throw new IllegalArgumentException(source + ": needs the lines 'arch', 'audit-arch' and 'install seccomp'");
        }
        return new SyscallTable(arch, audit, seccomp, allowed);
    }

    /** Reads the table from a class-path resource next to {@code owner}. */
    public static SyscallTable load(Class<?> owner, String resource) {
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no resource " + resource + " next to " + owner.getName());
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String strip0x(String s) {
        return s.startsWith("0x") ? s.substring(2) : s;
    }
}
