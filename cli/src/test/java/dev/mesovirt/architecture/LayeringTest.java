package dev.mesovirt.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module layering, checked on the compiled classes of every module: architecture-neutral code never learns the
 * ISA, architectures never lean on each other, the fdt and acpi libraries stand alone, PCI stays out of the machine core and
 * the microVM (the standard machine uses it), and the event loop knows nothing that runs on it. The rules the compiler cannot enforce (packages within one module:
 * vmm-api holds the core, QMP and PCI) are constants that {@link LayeringFixturesTest} also runs on classes breaking
 * them on purpose.
 */
class LayeringTest {
    private static final List<String> ARCHES = List.of("x86_64", "aarch64", "riscv64");
    private static JavaClasses classes;

    /**
     * Neither machine's code, nor the core they share, names an ISA: it comes from the Architecture SPI as data. (The
     * microVM's module cannot see the architecture modules; the core's package shares vmm-api with the SPI.)
     */
    static final ArchRule MACHINES_NEVER_DEPEND_ON_AN_ARCHITECTURE = noClasses()
            .that().resideInAnyPackage("dev.mesovirt.machine..", "dev.mesovirt.vmm.machine..")
            .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.arch..");

    /**
     * PCI is the standard machine's: the machine core, the QMP protocol layer and the microVM never use the PCI
     * library, though it lives in vmm-api beside them (so the compiler would let them).
     */
    static final ArchRule PCI_STAYS_OUT_OF_THE_CORE_AND_THE_MICROVM = noClasses()
            .that().resideInAnyPackage("dev.mesovirt.vmm.machine..", "dev.mesovirt.vmm.qmp..",
                    "dev.mesovirt.machine.microvm..")
            .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.vmm.pci..");

    /** The QMP protocol layer serves any command set: it knows no machine (the machine's commands use it). */
    static final ArchRule THE_QMP_PROTOCOL_KNOWS_NO_MACHINE = noClasses()
            .that().resideInAPackage("dev.mesovirt.vmm.qmp..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.mesovirt.vmm.machine..", "dev.mesovirt.machine..");

    /**
     * The event loop is general: it knows the libc bindings it waits on and nothing of the devices, transports,
     * machines or PCI that run on it (it lives in vmm-api beside them, so the compiler would let it).
     */
    static final ArchRule THE_EVENT_LOOP_IS_GENERAL = classes()
            .that().resideInAPackage("dev.mesovirt.vmm.event..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("dev.mesovirt.vmm.event..", "dev.mesovirt.vmm.sys..",
                    "java..", "org.slf4j..");

    @BeforeAll
    static void importAll() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.mesovirt");
    }

    @Test
    void theImportSeesEveryLayer() {
        // Guards against a vacuous pass: the rules below mean nothing if a layer's classes are missing.
        for (String pkg : List.of("dev.mesovirt.vmm.kvm", "dev.mesovirt.vmm.machine", "dev.mesovirt.vmm.qmp",
                "dev.mesovirt.vmm.event",
                "dev.mesovirt.fdt", "dev.mesovirt.acpi", "dev.mesovirt.arch.x86_64", "dev.mesovirt.machine.microvm", "dev.mesovirt.cli")) {
            if (classes.stream().noneMatch(c -> c.getPackageName().startsWith(pkg))) {
                throw new AssertionError("no classes imported from " + pkg);
            }
        }
    }

    @Test
    void machinesNeverDependOnAnArchitecture() {
        MACHINES_NEVER_DEPEND_ON_AN_ARCHITECTURE.check(classes);
    }

    @Test
    void pciStaysOutOfTheCoreAndTheMicrovm() {
        PCI_STAYS_OUT_OF_THE_CORE_AND_THE_MICROVM.check(classes);
    }

    @Test
    void theQmpProtocolKnowsNoMachine() {
        THE_QMP_PROTOCOL_KNOWS_NO_MACHINE.check(classes);
    }

    @Test
    void theEventLoopIsGeneral() {
        THE_EVENT_LOOP_IS_GENERAL.check(classes);
    }

    @Test
    void architecturesNeverDependOnEachOther() {
        for (String a : ARCHES) {
            for (String b : ARCHES) {
                if (!a.equals(b)) {
                    noClasses().that().resideInAPackage("dev.mesovirt.arch." + a + "..")
                            .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.arch." + b + "..")
                            .allowEmptyShould(true)
                            .check(classes);
                }
            }
        }
    }

    @Test
    void architecturesNeverDependOnMachinesOrTheCli() {
        noClasses().that().resideInAPackage("dev.mesovirt.arch..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.mesovirt.machine..", "dev.mesovirt.cli..")
                .check(classes);
    }

    @Test
    void vmmApiDependsOnNoArchitectureMachineOrCli() {
        noClasses().that().resideInAPackage("dev.mesovirt.vmm..")
                .should().dependOnClassesThat()
                .resideInAnyPackage("dev.mesovirt.arch..", "dev.mesovirt.machine..", "dev.mesovirt.cli..", "dev.mesovirt.fdt..",
                        "dev.mesovirt.acpi..")
                .check(classes);
    }

    @Test
    void fdtDependsOnNothingButTheJdk() {
        classes().that().resideInAPackage("dev.mesovirt.fdt..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.mesovirt.fdt..", "java..")
                .check(classes);
    }

    /** The ACPI library (header, AML, RSDP/XSDT, MCFG, image layout) serves every architecture and leans on none. */
    @Test
    void acpiDependsOnNothingButTheJdk() {
        classes().that().resideInAPackage("dev.mesovirt.acpi..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.mesovirt.acpi..", "java..")
                .check(classes);
    }

    @Test
    void theCliReachesArchitecturesOnlyThroughTheSpi() {
        noClasses().that().resideInAPackage("dev.mesovirt.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.arch..")
                .check(classes);
    }
}
