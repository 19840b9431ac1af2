package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KernelPlacementTest {

    private static final long MIB = 1L << 20;

    /** A Debian-like header: relocatable, pref_address 16 MiB, 2 MiB alignment, init_size 32 MiB. */
    private static SetupHeader header(boolean relocatable, long pref, long alignment, long initSize,
            long initrdAddrMax) {
        return new SetupHeader(0x020F, 4, 1, 3, alignment, relocatable, 21, initrdAddrMax, 2047, pref, initSize,
                0, 0, 0, "");
    }

    private static SetupHeader debianLike() {
        return header(true, 16 * MIB, 2 * MIB, 32 * MIB, 0x7FFF_FFFFL);
    }

    private static KernelPlacement place(SetupHeader h, long lowRamEnd, long initrd) throws KernelPlacementException {
        return KernelPlacement.compute(h, 1 * MIB, lowRamEnd, initrd);
    }

    private static String refusal(SetupHeader h, long lowRamEnd, long initrd) {
        return assertThrows(KernelPlacementException.class, () -> place(h, lowRamEnd, initrd)).getMessage();
    }

    @Test
    void loadsAtPrefAddressWithoutInitrd() throws Exception {
        KernelPlacement p = place(debianLike(), 256 * MIB, 0);
        assertEquals(16 * MIB, p.kernelLoadAddress());
        assertEquals(48 * MIB, p.kernelEnd());
        assertEquals(16 * MIB + 0x200, p.entry64());
        assertEquals(0, p.initrdAddress());
        assertEquals(0, p.initrdSize());
    }

    @Test
    void initrdGoesAtTheTopOfLowRam() throws Exception {
        long len = 5 * MIB + 123;
        KernelPlacement p = place(debianLike(), 256 * MIB, len);
        assertEquals(0, p.initrdAddress() % 4096);
        assertTrue(p.initrdAddress() + len <= 256 * MIB);
        assertTrue(p.initrdAddress() + len > 256 * MIB - 4096, "highest page-aligned address");
        assertEquals((256 * MIB - len) & ~0xFFFL, p.initrdAddress());
        assertEquals(len, p.initrdSize());
    }

    @Test
    void initrdStaysBelowInitrdAddrMax() throws Exception {
        // initrd_addr_max is the address of the last byte the initrd may use.
        KernelPlacement p = place(debianLike(), 3072 * MIB, 10 * MIB);
        assertEquals(0x8000_0000L - 10 * MIB, p.initrdAddress());
        SetupHeader tight = header(true, 16 * MIB, 2 * MIB, 32 * MIB, 0x37FF_FFFFL);
        assertEquals(0x3800_0000L - 10 * MIB, place(tight, 3072 * MIB, 10 * MIB).initrdAddress());
    }

    @Test
    void exactFitIsAccepted() throws Exception {
        assertEquals(48 * MIB, place(debianLike(), 48 * MIB, 0).kernelEnd());
        KernelPlacement p = place(debianLike(), 56 * MIB, 8 * MIB);
        assertEquals(48 * MIB, p.initrdAddress()); // starts right at the end of init_size
    }

    @Test
    void tooLittleMemoryForTheKernel() {
        assertEquals("kernel needs 48 MiB of RAM (load address 16 MiB + init_size 32 MiB) but only 32 MiB of RAM"
                + " is available below the 32-bit hole", refusal(debianLike(), 32 * MIB, 0));
        String oneShort = refusal(debianLike(), 48 * MIB - 4096, 0);
        assertTrue(oneShort.contains("kernel needs 48 MiB") && oneShort.contains("49148 KiB"), oneShort);
        // RAM ending below the load address.
        assertTrue(refusal(debianLike(), 8 * MIB, 0).startsWith("kernel needs 48 MiB"));
    }

    @Test
    void initrdFallsBelowTheKernelWhenTheTopIsFull() throws Exception {
        // 50 MiB of RAM: kernel 16-48 MiB, 2 MiB left above, so a 10 MiB initrd goes below the kernel.
        KernelPlacement p = place(debianLike(), 50 * MIB, 10 * MIB);
        assertEquals(6 * MIB, p.initrdAddress());
        assertTrue(p.initrdAddress() + p.initrdSize() <= p.kernelLoadAddress());
        // Exactly the 15 MiB between 1 MiB and the kernel.
        assertEquals(MIB, place(debianLike(), 50 * MIB, 15 * MIB).initrdAddress());
    }

    @Test
    void initrdThatDoesNotFitAnywhere() {
        assertEquals("kernel and initrd need 68 MiB of RAM (kernel up to 48 MiB, initrd 20 MiB) but only 50 MiB of"
                + " RAM is available below the 32-bit hole", refusal(debianLike(), 50 * MIB, 20 * MIB));
        String huge = refusal(debianLike(), 3072 * MIB, 1L << 50);
        assertTrue(huge.contains("more than 1 TiB"), huge);
        SetupHeader tight = header(true, 16 * MIB, 2 * MIB, 32 * MIB, 0x37FF_FFFFL);
        assertEquals("initrd of 1024 MiB does not fit below the kernel's initrd_addr_max 0x37FFFFFF (kernel occupies"
                + " up to 48 MiB)", refusal(tight, 3072 * MIB, 1024 * MIB));
    }

    @Test
    void prefAddressIsAlignedUpAndNeverBelow1MiB() throws Exception {
        assertEquals(18 * MIB, place(header(true, 17 * MIB, 2 * MIB, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0)
                .kernelLoadAddress());
        assertEquals(2 * MIB, place(header(true, 0, 2 * MIB, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0)
                .kernelLoadAddress());
        assertEquals(MIB, place(header(true, 0, 4096, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0)
                .kernelLoadAddress());
        assertEquals(MIB, place(header(true, 0x1000, 4096, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0)
                .kernelLoadAddress());
    }

    @Test
    void nonRelocatableKernelLoadsExactlyAtPrefAddress() throws Exception {
        SetupHeader fixed = header(false, 16 * MIB + 0x1000, 2 * MIB, 32 * MIB, 0x7FFF_FFFFL);
        assertEquals(16 * MIB + 0x1000, place(fixed, 256 * MIB, 0).kernelLoadAddress());
        assertEquals(MIB, place(header(false, 0, 0, 8 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0).kernelLoadAddress());
        assertTrue(refusal(header(false, 0x8000, 0, 8 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0).contains("below 1 MiB"));
    }

    @Test
    void protectedModePartLargerThanInitSizeCounts() throws Exception {
        KernelPlacement p = KernelPlacement.compute(header(true, 16 * MIB, 2 * MIB, 4 * MIB, 0x7FFF_FFFFL),
                6 * MIB, 256 * MIB, 0);
        assertEquals(22 * MIB, p.kernelEnd());
    }

    @Test
    void worksFromABzImage() throws Exception {
        BzImage k = SyntheticBzImage.parsed();
        KernelPlacement p = KernelPlacement.compute(k, 128 * MIB, 4 * MIB);
        assertEquals(SyntheticBzImage.PREF_ADDRESS, p.kernelLoadAddress());
        assertEquals(SyntheticBzImage.PREF_ADDRESS + SyntheticBzImage.INIT_SIZE, p.kernelEnd());
        assertEquals(124 * MIB, p.initrdAddress());
    }

    @Test
    void argumentChecks() {
        assertThrows(IllegalArgumentException.class, () -> place(debianLike(), MIB, 0));
        assertThrows(IllegalArgumentException.class, () -> place(debianLike(), (4L << 30) + 4096, 0));
        assertThrows(IllegalArgumentException.class, () -> place(debianLike(), 256 * MIB, -1));
        assertThrows(IllegalArgumentException.class,
                () -> place(header(true, 16 * MIB, 3 * MIB, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0));
        assertThrows(IllegalArgumentException.class,
                () -> place(header(true, 1L << 40, 2 * MIB, 32 * MIB, 0x7FFF_FFFFL), 256 * MIB, 0));
        assertThrows(NullPointerException.class, () -> KernelPlacement.compute((SetupHeader) null, 0, 256 * MIB, 0));
    }

    @Test
    void fullLowRamUpTo4GiB() throws Exception {
        KernelPlacement p = place(header(true, 16 * MIB, 2 * MIB, 32 * MIB, 0xFFFF_FFFFL), 4L << 30, 64 * MIB);
        assertEquals((4L << 30) - 64 * MIB, p.initrdAddress());
    }
}
