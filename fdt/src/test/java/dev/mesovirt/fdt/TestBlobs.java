package dev.mesovirt.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/** Helpers shared by the tests: hex literals, big-endian encodings and hand-assembled blobs. */
final class TestBlobs {

    private TestBlobs() {
    }

    /** Bytes from hex text; whitespace is ignored. */
    static byte[] hex(String text) {
        return HexFormat.of().parseHex(text.replaceAll("\\s+", ""));
    }

    static byte[] be32(int... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4);
        for (int value : values) {
            buffer.putInt(value);
        }
        return buffer.array();
    }

    static byte[] be64(long... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 8);
        for (long value : values) {
            buffer.putLong(value);
        }
        return buffer.array();
    }

    /** NUL-terminated UTF-8 strings, concatenated. */
    static byte[] strings(String... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String value : values) {
            out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** The small tree of the golden test, built through the public writer API. */
    static byte[] smallTree() {
        FdtWriter w = new FdtWriter();
        w.addMemoryReservation(0x8000_0000L, 0x1_0000L);
        w.setBootCpuId(1);
        OpenNode root = w.beginNode("");
        w.propertyStringList("compatible", List.of("a", "bc"));
        w.propertyU32("#size-cells", 2);
        OpenNode cpu = w.beginNode("cpu@0");
        w.propertyU64("reg", 0x1_0000_0002L);
        w.propertyEmpty("ranges");
        w.property("data", new byte[] {1, 2, 3});
        w.endNode(cpu);
        OpenNode memory = w.beginNode("memory@80000000");
        w.propertyCells("reg", 0x8000_0000, 0x1000);
        w.propertyU64Array("sizes", 1, 2);
        w.propertyString("model", "mv");
        w.propertyPhandle(w.allocatePhandle());
        w.endNode(memory);
        w.endNode(root);
        return w.finish();
    }

    /** A Linux-shaped aarch64 tree that dtc accepts without warnings. */
    static byte[] virtTree() {
        FdtWriter w = new FdtWriter();
        w.addMemoryReservation(0x4800_0000L, 0x10_0000L);
        int gic = w.allocatePhandle();
        OpenNode root = w.beginNode("");
        w.propertyString("compatible", "linux,dummy-virt");
        w.propertyU32("#address-cells", 2);
        w.propertyU32("#size-cells", 2);
        w.propertyU32("interrupt-parent", gic);

        OpenNode chosen = w.beginNode("chosen");
        w.propertyString("bootargs", "console=ttyS0 root=/dev/vda");
        w.propertyString("stdout-path", "/uart@9000000");
        w.propertyU64("linux,initrd-start", 0x4800_0000L);
        w.propertyU64("linux,initrd-end", 0x4810_0000L);
        w.endNode(chosen);

        OpenNode cpus = w.beginNode("cpus");
        w.propertyU32("#address-cells", 1);
        w.propertyU32("#size-cells", 0);
        for (int i = 0; i < 2; i++) {
            OpenNode cpu = w.beginNode("cpu@" + i);
            w.propertyString("device_type", "cpu");
            w.propertyString("compatible", "arm,arm-v8");
            w.propertyU32("reg", i);
            w.propertyString("enable-method", "psci");
            w.endNode(cpu);
        }
        w.endNode(cpus);

        OpenNode memory = w.beginNode("memory@40000000");
        w.propertyString("device_type", "memory");
        w.propertyU64Array("reg", 0x4000_0000L, 0x1000_0000L);
        w.endNode(memory);

        OpenNode intc = w.beginNode("intc@8000000");
        w.propertyString("compatible", "arm,gic-v3");
        w.propertyU32("#interrupt-cells", 3);
        w.propertyU32("#address-cells", 0);
        w.propertyEmpty("interrupt-controller");
        w.propertyU64Array("reg", 0x800_0000L, 0x1_0000L, 0x80a_0000L, 0xf6_0000L);
        w.propertyPhandle(gic);
        w.endNode(intc);

        OpenNode uart = w.beginNode("uart@9000000");
        w.propertyStringList("compatible", List.of("ns16550a", "ns16550"));
        w.propertyU64Array("reg", 0x900_0000L, 0x1000L);
        w.propertyCells("interrupts", 0, 1, 4);
        w.propertyU32("clock-frequency", 1_843_200);
        w.endNode(uart);

        w.endNode(root);
        return w.finish();
    }

    /**
     * Assembles a blob by hand around a raw structure block, so tests can produce inputs the writer
     * refuses to create. Layout: header, reservations (+ terminator), structure, strings.
     */
    static byte[] rawBlob(byte[] structure, byte[] strings, long... reservationPairs) {
        int reservationsSize = (reservationPairs.length / 2 + 1) * 16;
        int offStruct = 40 + reservationsSize;
        int offStrings = offStruct + structure.length;
        int total = offStrings + strings.length;
        ByteBuffer buffer = ByteBuffer.allocate(total);
        buffer.putInt(0xd00dfeed).putInt(total).putInt(offStruct).putInt(offStrings).putInt(40)
                .putInt(17).putInt(16).putInt(0).putInt(strings.length).putInt(structure.length);
        for (long value : reservationPairs) {
            buffer.putLong(value);
        }
        buffer.putLong(0).putLong(0);
        buffer.put(structure).put(strings);
        return buffer.array();
    }

    /** Structure-block tokens: each argument is an int token/word or a byte[] of padded data. */
    static byte[] tokens(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof Integer word) {
                out.writeBytes(be32(word));
            } else if (part instanceof byte[] bytes) {
                out.writeBytes(bytes);
                for (int i = bytes.length; i % 4 != 0; i++) {
                    out.write(0);
                }
            } else if (part instanceof String name) {
                byte[] bytes = strings(name);
                out.writeBytes(bytes);
                for (int i = bytes.length; i % 4 != 0; i++) {
                    out.write(0);
                }
            } else {
                throw new IllegalArgumentException(String.valueOf(part));
            }
        }
        return out.toByteArray();
    }

    static final int BEGIN = 1;
    static final int END_NODE = 2;
    static final int PROP = 3;
    static final int NOP = 4;
    static final int END = 9;

    /** Overwrites the big-endian u32 at {@code offset}. */
    static byte[] patch32(byte[] blob, int offset, int value) {
        byte[] copy = blob.clone();
        ByteBuffer.wrap(copy).putInt(offset, value);
        return copy;
    }
}
