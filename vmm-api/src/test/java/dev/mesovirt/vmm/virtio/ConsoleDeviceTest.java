package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ConsoleDeviceTest {
    private static final class NullBackend extends ConsoleBackend {
        @Override
        void start(Sink sink) {
        }

        @Override
        void output(ByteBuffer data) {
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** Found by ConsoleDeviceFuzzTarget (EMFILE after some 20,000 devices): close() kept the input eventfd open. */
    @Test
    void closeReleasesTheDevicesDescriptors() throws IOException {
        long before = openFds();
        for (int i = 0; i < 200; i++) {
            new ConsoleDevice("c" + i, new NullBackend()).close();
        }
        long after = openFds();
        assertTrue(after < before + 10, "descriptors leaked: " + before + " before, " + after + " after");
    }
}
