package dev.mesovirt.fdt;

import static dev.mesovirt.fdt.TestBlobs.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Byte-exact output of the writer, expected bytes worked out by hand from the DT specification. */
class FdtWriterGoldenTest {

    @Test
    void emptyTreeIsExactly72Bytes() {
        FdtWriter writer = new FdtWriter();
        writer.endNode(writer.beginNode(""));
        byte[] blob = writer.finish();

        byte[] expected = hex("""
                d00dfeed 00000048 00000038 00000048 00000028
                00000011 00000010 00000000 00000000 00000010
                00000000 00000000 00000000 00000000
                00000001 00000000 00000002 00000009
                """);
        assertEquals(72, expected.length);
        assertArrayEquals(expected, blob);
    }

    /**
     * The tree of {@link TestBlobs#smallTree()}:
     *
     * <pre>
     * /memreserve/ 0x80000000 0x10000;   boot_cpuid_phys = 1
     * / {
     *     compatible = "a", "bc";            propertyStringList
     *     #size-cells = &lt;2&gt;;                 propertyU32
     *     cpu@0 {
     *         reg = /bits/ 64 &lt;0x100000002&gt;;  propertyU64
     *         ranges;                        propertyEmpty
     *         data = [01 02 03];             property (raw, needs padding)
     *     };
     *     memory@80000000 {
     *         reg = &lt;0x80000000 0x1000&gt;;     propertyCells ("reg" name shared in strings block)
     *         sizes = /bits/ 64 &lt;1 2&gt;;       propertyU64Array
     *         model = "mv";                  propertyString
     *         phandle = &lt;1&gt;;                 propertyPhandle(allocatePhandle())
     *     };
     * };
     * </pre>
     *
     * Strings block (offset: name): 0 compatible, 11 #size-cells, 23 reg, 27 ranges, 34 data,
     * 39 sizes, 45 model, 51 phandle; 59 bytes. Layout: header 0..40, reservations 40..72,
     * structure 72..292 (220 bytes), strings 292..351.
     */
    @Test
    void smallTreeWithEveryPropertyKindAndAReservation() {
        byte[] expected = hex(""
                // header
                + "d00dfeed" // magic
                + "0000015f" // totalsize 351
                + "00000048" // off_dt_struct 72
                + "00000124" // off_dt_strings 292
                + "00000028" // off_mem_rsvmap 40
                + "00000011" // version 17
                + "00000010" // last_comp_version 16
                + "00000001" // boot_cpuid_phys 1
                + "0000003b" // size_dt_strings 59
                + "000000dc" // size_dt_struct 220
                // memory reservation block
                + "00000000 80000000 00000000 00010000" // 0x80000000 +0x10000
                + "00000000 00000000 00000000 00000000" // terminator
                // structure block            struct offset
                + "00000001 00000000" //          0  BEGIN_NODE ""
                + "00000003 00000005 00000000 61006263 00000000" // 8  compatible "a\0bc\0" + 3 pad
                + "00000003 00000004 0000000b 00000002" // 28 #size-cells <2>
                + "00000001 63707540 30000000" //   44 BEGIN_NODE "cpu@0\0" + 2 pad
                + "00000003 00000008 00000017 00000001 00000002" // 56 reg u64
                + "00000003 00000000 0000001b" //   76 ranges (empty)
                + "00000003 00000003 00000022 01020300" // 88 data [01 02 03] + 1 pad
                + "00000002" //                    104 END_NODE
                + "00000001 6d656d6f 72794038 30303030 30303000" // 108 BEGIN_NODE "memory@80000000\0"
                + "00000003 00000008 00000017 80000000 00001000" // 128 reg cells
                + "00000003 00000010 00000027 00000000 00000001 00000000 00000002" // 148 sizes u64[2]
                + "00000003 00000003 0000002d 6d760000" // 176 model "mv\0" + 1 pad
                + "00000003 00000004 00000033 00000001" // 192 phandle <1>
                + "00000002" //                    208 END_NODE memory
                + "00000002" //                    212 END_NODE root
                + "00000009" //                    216 END
                // strings block
                + "636f6d70617469626c6500" //      0 compatible
                + "2373697a652d63656c6c7300" //   11 #size-cells
                + "72656700" //                   23 reg
                + "72616e67657300" //             27 ranges
                + "6461746100" //                 34 data
                + "73697a657300" //               39 sizes
                + "6d6f64656c00" //               45 model
                + "7068616e646c6500"); //         51 phandle
        assertEquals(351, expected.length);
        assertArrayEquals(expected, TestBlobs.smallTree());
    }

    @Test
    void propertyNamesAreStoredOnceInTheStringsBlock() {
        FdtWriter writer = new FdtWriter();
        OpenNode root = writer.beginNode("");
        for (int i = 0; i < 3; i++) {
            OpenNode node = writer.beginNode("n@" + i);
            writer.propertyU32("reg", i);
            writer.endNode(node);
        }
        writer.endNode(root);
        byte[] blob = writer.finish();
        int sizeStrings = java.nio.ByteBuffer.wrap(blob).getInt(32);
        assertEquals(4, sizeStrings, "\"reg\\0\" stored once");
    }
}
