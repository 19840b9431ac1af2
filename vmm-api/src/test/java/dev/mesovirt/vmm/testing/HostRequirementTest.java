package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class HostRequirementTest {
    @Test
    void aMissingRequirementFailsUnderCiAndSkipsElsewhere() {
        AssertionFailedError failed = assertThrows(AssertionFailedError.class,
                () -> HostRequirement.require(Map.of("CI", "true"), false, "no widget"));
        assertEquals("CI=true but no widget", failed.getMessage());
        TestAbortedException skipped = assertThrows(TestAbortedException.class,
                () -> HostRequirement.require(Map.of("CI", "false"), false, "no widget"));
        assertEquals("no widget", skipped.getMessage());
        assertThrows(TestAbortedException.class, () -> HostRequirement.require(Map.of(), false, "no widget"));
    }
}
