package dev.mesovirt.acpi;

import static dev.mesovirt.acpi.testing.AcpicaTools.compileTerms;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each AML construct the PCI host bridge needs, against iasl's compilation of the same ASL: our encoder must emit
 * exactly what iasl does, so that the tables decompile and recompile to themselves and the ASL in the comments is
 * what the guest reads.
 */
class AmlIaslTest {

    @TempDir
    Path dir;

    private void assertCompilesTo(String asl, byte[]... terms) throws Exception {
        byte[] ours = Aml.concat(terms);
        byte[] iasl = compileTerms(dir, asl);
        assertArrayEquals(iasl, ours, () -> "ASL:\n" + asl + "\niasl: " + HexFormat.of().formatHex(iasl)
                + "\nours: " + HexFormat.of().formatHex(ours));
    }

    @Test
    void bridgeWindowDescriptors() throws Exception {
        assertCompilesTo("""
                Name (RT, ResourceTemplate ()
                {
                    WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                        0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,, )
                    WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                        0x0000, 0x0000, 0x0000, 0x0000, 0x0001,,, )
                    WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                        0x0000, 0xC000, 0xFFFF, 0x0000, 0x4000,,, , TypeStatic, DenseTranslation)
                    WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                        0x0000, 0x1000, 0x1FFF, 0x0000, 0x1000,,, , TypeStatic, DenseTranslation)
                    DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                        0x00000000, 0xC0000000, 0xFE9FFFFF, 0x00000000, 0x3EA00000,,, , AddressRangeMemory, TypeStatic)
                    QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                        0x0000000000000000, 0x0000000800000000, 0x0000000FFFFFFFFF, 0x0000000000000000,
                        0x0000000800000000,,, , AddressRangeMemory, TypeStatic)
                    QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                        0x0000000000000000, 0x0000FF0000000000, 0x0000FFFFFFFFFFFF, 0x0000000000000000,
                        0x0000010000000000,,, , AddressRangeMemory, TypeStatic)
                })
                """,
                Aml.name("RT", Aml.resourceTemplate(
                        Aml.wordBusNumber(0, 0xFF),
                        Aml.wordBusNumber(0, 0),
                        Aml.wordIo(0xC000, 0xFFFF),
                        Aml.wordIo(0x1000, 0x1FFF),
                        Aml.dwordMemory(0xC000_0000L, 0xFE9F_FFFFL),
                        Aml.qwordMemory(0x8_0000_0000L, 0xF_FFFF_FFFFL),
                        Aml.qwordMemory(0xFF00_0000_0000L, 0xFFFF_FFFF_FFFFL))));
    }

    @Test
    void sharedLevelInterruptAndFixedMemory() throws Exception {
        assertCompilesTo("""
                Name (RT, ResourceTemplate ()
                {
                    Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, ) {0x00000013}
                    Memory32Fixed (ReadWrite, 0xB0000000, 0x10000000, )
                })
                """,
                Aml.name("RT", Aml.resourceTemplate(
                        Aml.interrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, Aml.Sharing.SHARED, 19),
                        Aml.memory32Fixed(true, 0xB000_0000L, 0x1000_0000L))));
    }

    @Test
    void toUuidBuffers() throws Exception {
        assertCompilesTo("""
                Name (PCIU, ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"))
                Name (OTHR, ToUUID ("0123ABCD-4567-89EF-FEDC-BA9876543210"))
                """,
                Aml.name("PCIU", Aml.toUuid("33db4d5b-1ff7-401c-9657-7441c03dd766")),
                Aml.name("OTHR", Aml.toUuid("0123ABCD-4567-89EF-FEDC-BA9876543210")));
    }

    /** Every new method-body term in one method: CreateDWordField, LEqual, LNot, And/Or with targets, Else, Arg. */
    @Test
    void methodBodyTerms() throws Exception {
        assertCompilesTo("""
                Method (TEST, 4, NotSerialized)
                {
                    CreateDWordField (Arg3, Zero, DW1)
                    CreateDWordField (Arg3, 0x08, DW3)
                    If ((Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766")))
                    {
                        Local0 = (DW3 & 0x1D)
                        If ((Arg1 != One))
                        {
                            DW1 |= 0x08
                        }
                        DW3 = Local0
                    }
                    Else
                    {
                        DW1 |= 0x04
                    }
                    DW1 = (Arg2 | Local0)
                    Return (Arg3)
                }
                """,
                Aml.method("TEST", 4, false,
                        Aml.createDWordField(Aml.arg(3), Aml.zero(), "DW1"),
                        Aml.createDWordField(Aml.arg(3), Aml.integer(8), "DW3"),
                        Aml.ifThen(Aml.lEqual(Aml.arg(0), Aml.toUuid("33db4d5b-1ff7-401c-9657-7441c03dd766")),
                                Aml.and(Aml.nameString("DW3"), Aml.integer(0x1D), Aml.local(0)),
                                Aml.ifThen(Aml.lNotEqual(Aml.arg(1), Aml.one()),
                                        Aml.or(Aml.nameString("DW1"), Aml.integer(8), Aml.nameString("DW1"))),
                                Aml.store(Aml.local(0), Aml.nameString("DW3"))),
                        Aml.elseBlock(Aml.or(Aml.nameString("DW1"), Aml.integer(4), Aml.nameString("DW1"))),
                        Aml.or(Aml.arg(2), Aml.local(0), Aml.nameString("DW1")),
                        Aml.returnValue(Aml.arg(3))));
    }

    /** A package whose elements name other objects, as _PRT entries name their interrupt link device. */
    @Test
    void packagesWithObjectReferences() throws Exception {
        assertCompilesTo("""
                Device (LNKA)
                {
                    Name (_HID, EisaId ("PNP0C0F"))
                    Name (_UID, Zero)
                }
                Name (PRT, Package (0x02)
                {
                    Package (0x04) { 0xFFFF, Zero, LNKA, Zero },
                    Package (0x04) { 0x001FFFFF, 0x03, LNKA, Zero }
                })
                """,
                Aml.device("LNKA", Aml.name("_HID", Aml.eisaId("PNP0C0F")), Aml.name("_UID", Aml.zero())),
                Aml.name("PRT", Aml.packageOf(
                        Aml.packageOf(Aml.integer(0xFFFF), Aml.zero(), Aml.nameString("LNKA"), Aml.zero()),
                        Aml.packageOf(Aml.integer(0x1F_FFFF), Aml.integer(3), Aml.nameString("LNKA"), Aml.zero()))));
    }

    @Test
    void emptyMethodWithAnArgument() throws Exception {
        assertCompilesTo("""
                Method (_SRS, 1, NotSerialized)
                {
                }
                """,
                Aml.method("_SRS", 1, false));
    }
}
