package dev.mesovirt.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LayeringTest}'s rules catch what they are there for: each runs on fixture classes (under cli/src/test, in
 * the guarded packages) that break it on purpose, and must report every one of them. A rule that could only pass, say
 * because the package it keeps out does not exist yet (the PCI library), fails here.
 */
class LayeringFixturesTest {
    private static final String CORE = "dev.mesovirt.vmm.machine.LayeringViolations$";
    private static final String QMP = "dev.mesovirt.vmm.qmp.LayeringViolations$";
    private static final String MICROVM = "dev.mesovirt.machine.microvm.LayeringViolations$";
    private static final String EVENT = "dev.mesovirt.vmm.event.LayeringViolations$";

    @Test
    void pciInTheCoreTheQmpLayerOrTheMicrovmIsCaught() throws Exception {
        assertCatches(LayeringTest.PCI_STAYS_OUT_OF_THE_CORE_AND_THE_MICROVM,
                List.of(CORE + "UsesPci", QMP + "UsesPci", MICROVM + "UsesPci"),
                List.of(CORE + "UsesAnArchitecture", QMP + "KnowsTheMachine", MICROVM + "UsesAnArchitecture"));
    }

    @Test
    void anArchitectureInTheCoreOrTheMicrovmIsCaught() throws Exception {
        assertCatches(LayeringTest.MACHINES_NEVER_DEPEND_ON_AN_ARCHITECTURE,
                List.of(CORE + "UsesAnArchitecture", MICROVM + "UsesAnArchitecture"),
                List.of(CORE + "UsesPci", MICROVM + "UsesPci"));
    }

    @Test
    void aMachineInTheQmpLayerIsCaught() throws Exception {
        assertCatches(LayeringTest.THE_QMP_PROTOCOL_KNOWS_NO_MACHINE, List.of(QMP + "KnowsTheMachine"),
                List.of(QMP + "UsesPci"));
    }

    @Test
    void aDeviceOrTheMachineInTheEventLoopIsCaught() throws Exception {
        assertCatches(LayeringTest.THE_EVENT_LOOP_IS_GENERAL, List.of(EVENT + "UsesVirtio", EVENT + "KnowsTheMachine"),
                List.of(EVENT + "UsesTheSysBindings"));
    }

    /**
     * {@code rule} reports a violation for each class of {@code breaking}, evaluated alone, and none for the classes
     * of {@code keeping} (which break other rules only).
     */
    private static void assertCatches(ArchRule rule, List<String> breaking, List<String> keeping) throws Exception {
        for (String name : breaking) {
            EvaluationResult result = rule.evaluate(fixture(name));
            assertTrue(result.hasViolation(), rule.getDescription() + " misses " + name);
            assertEquals(1, result.getFailureReport().getDetails().size(), result.getFailureReport().toString());
            assertTrue(result.getFailureReport().getDetails().get(0).contains(name),
                    result.getFailureReport().toString());
        }
        for (String name : keeping) {
            assertFalse(rule.evaluate(fixture(name)).hasViolation(), rule.getDescription() + " flags " + name);
        }
    }

    private static JavaClasses fixture(String name) throws ClassNotFoundException {
        return new ClassFileImporter().importClasses(Class.forName(name));
    }
}
