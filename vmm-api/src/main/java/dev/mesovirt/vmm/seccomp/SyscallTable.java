package dev.mesovirt.vmm.seccomp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One architecture's allow-list: the system calls (name and number) the VMM may make once its filter is in, the
 * exact ioctl request numbers it may pass to ioctl(2), the architecture's {@code AUDIT_ARCH_*} value and the number
 * of seccomp(2) itself, which installs it. Read from a small text file each architecture module keeps next to its
 * code (see {@link #parse}), so that the list is in one readable place per architecture and unit tests can check
 * every number against the kernel's headers and every ioctl request against the code that issues it.
 *
 * @param arch the ISA name ({@code x86_64}, ...)
 * @param auditArch {@code seccomp_data.arch} for this ISA's native ABI
 * @param seccompNumber {@code __NR_seccomp}
 * @param allowed name to number, in the file's order (hot calls first: the filter tests them in this order)
 * @param ioctlRequests the kernel's macro name (KVM_RUN, TUNSETIFF, ...) to the request number, as the kernel compares
 *     it (an unsigned int: the low 32 bits of the argument), in the file's order (hot requests first, KVM_RUN at the
 *     head: the filter tests them in this order); required if ioctl is allowed, and only then
 */
public record SyscallTable(String arch, int auditArch, int seccompNumber, Map<String, Integer> allowed,
        Map<String, Integer> ioctlRequests) {
    public SyscallTable {
        allowed = Collections.unmodifiableMap(new LinkedHashMap<>(allowed));
        ioctlRequests = Collections.unmodifiableMap(new LinkedHashMap<>(ioctlRequests));
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException(arch + ": empty allow-list");
        }
        if (allowed.values().stream().distinct().count() != allowed.size()) {
            throw new IllegalArgumentException(arch + ": a syscall number appears twice in the allow-list");
        }
        if (ioctlRequests.values().stream().distinct().count() != ioctlRequests.size()) {
            throw new IllegalArgumentException(arch + ": an ioctl request number appears twice in the allow-list");
        }
        if (allowed.containsKey("ioctl") == ioctlRequests.isEmpty()) {
            throw new IllegalArgumentException(arch + (ioctlRequests.isEmpty()
                    ? ": ioctl is allowed but no 'ioctl-request' is listed" : ": 'ioctl-request' lines without ioctl"));
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
     * {@code arch NAME}, {@code audit-arch HEX} and {@code install seccomp NUMBER} once each; {@code ioctl-request
     * NAME HEX} an allowed ioctl request (at most 32 bits); every other line is {@code SYSCALL NUMBER}, an allowed
     * call.
     */
    public static SyscallTable parse(String text, String source) {
        String arch = null;
        Integer audit = null;
        Integer seccomp = null;
        Map<String, Integer> allowed = new LinkedHashMap<>();
        Map<String, Integer> ioctls = new LinkedHashMap<>();
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
                } else if (w[0].equals("ioctl-request") && w.length == 3 && w[1].matches("[A-Z_][A-Z0-9_]*")) {
                    long request = Long.parseLong(strip0x(w[2]), 16);
                    if (request > 0xffff_ffffL) {
                        throw new IllegalArgumentException(where + w[1] + ": more than 32 bits");
                    }
                    if (ioctls.put(w[1], (int) request) != null) {
                        throw new IllegalArgumentException(where + w[1] + " listed twice");
                    }
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
        return new SyscallTable(arch, audit, seccomp, allowed, ioctls);
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
