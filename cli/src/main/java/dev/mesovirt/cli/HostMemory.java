package dev.mesovirt.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host's physical RAM, from the MemTotal line of /proc/meminfo. */
final class HostMemory {
    private HostMemory() {}

    /** The host's RAM in bytes, or -1 when /proc/meminfo cannot be read or understood. */
    static long totalBytes() {
        return totalBytes(Path.of("/proc/meminfo"));
    }

    static long totalBytes(Path meminfo) {
        byte[] data;
        try (InputStream in = Files.newInputStream(meminfo)) {
            // MemTotal is the first line; 256 bytes is plenty and avoids reading the whole (procfs-generated) file.
            data = in.readNBytes(256);
        } catch (IOException | SecurityException e) {
            return -1;
        }
        return parse(data);
    }

    /** Parses "MemTotal:       24576000 kB" from the start of meminfo's content. */
    static long parse(byte[] data) {
        byte[] key = {'M', 'e', 'm', 'T', 'o', 't', 'a', 'l', ':'};
        int pos = -1;
        outer:
        for (int i = 0; i + key.length <= data.length; i++) {
            if (i != 0 && data[i - 1] != '\n') {
                continue;
            }
            for (int j = 0; j < key.length; j++) {
                if (data[i + j] != key[j]) {
                    continue outer;
                }
            }
            pos = i + key.length;
            break;
        }
        if (pos < 0) {
            return -1;
        }
        while (pos < data.length && data[pos] == ' ') {
            pos++;
        }
        long kib = 0;
        int digits = 0;
        while (pos < data.length && data[pos] >= '0' && data[pos] <= '9') {
            if (++digits > 15) {
                return -1;
            }
            kib = kib * 10 + (data[pos++] - '0');
        }
        if (digits == 0 || pos + 3 > data.length || data[pos] != ' ' || data[pos + 1] != 'k' || data[pos + 2] != 'B') {
            return -1;
        }
        return kib << 10;
    }
}
