package dev.mesovirt.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module layering of the design card, checked on the compiled classes of every module: architecture-neutral
 * code never learns the ISA, architectures never lean on each other, and the fdt library stands alone.
 */
class LayeringTest {
    private static final List<String> ARCHES = List.of("x86_64", "aarch64", "riscv64");
    private static JavaClasses classes;

    @BeforeAll
    static void importAll() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.mesovirt");
    }

    @Test
    void theImportSeesEveryLayer() {
        // Guards against a vacuous pass: the rules below mean nothing if a layer's classes are missing.
        for (String pkg : List.of("dev.mesovirt.vmm.kvm", "dev.mesovirt.fdt", "dev.mesovirt.arch.x86_64",
                "dev.mesovirt.machine.microvm", "dev.mesovirt.cli")) {
            if (classes.stream().noneMatch(c -> c.getPackageName().startsWith(pkg))) {
                throw new AssertionError("no classes imported from " + pkg);
            }
        }
    }

    @Test
    void machinesNeverDependOnAnArchitecture() {
        noClasses().that().resideInAPackage("dev.mesovirt.machine..")
                .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.arch..")
                .check(classes);
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
                .resideInAnyPackage("dev.mesovirt.arch..", "dev.mesovirt.machine..", "dev.mesovirt.cli..", "dev.mesovirt.fdt..")
                .check(classes);
    }

    @Test
    void fdtDependsOnNothingButTheJdk() {
        classes().that().resideInAPackage("dev.mesovirt.fdt..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.mesovirt.fdt..", "java..")
                .check(classes);
    }

    @Test
    void theCliReachesArchitecturesOnlyThroughTheSpi() {
        noClasses().that().resideInAPackage("dev.mesovirt.cli..")
                .should().dependOnClassesThat().resideInAPackage("dev.mesovirt.arch..")
                .check(classes);
    }
}
