package dev.mesovirt.fuzz;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The main class of a target's JVM ({@link FuzzRun}): runs one fuzz target class with the JUnit Platform launcher of
 * the module's own test class path (no console launcher: its jar bundles every engine, and Jazzer's start-up scans
 * whatever is on the class path), one line per invocation ("test NAME: OK" or "test NAME: FAILED exception"), a count,
 * the failures' stack traces. Exit status 0 when at least one test ran and none failed.
 */
public final class TargetMain {
    private TargetMain() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: TargetMain CLASS");
            System.exit(2);
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectClass(args[0]))
                .build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener lines = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) {
                    return;
                }
                String outcome = switch (result.getStatus()) {
                    case SUCCESSFUL -> "OK";
                    case ABORTED -> "ABORTED";
                    case FAILED -> "FAILED " + result.getThrowable().map(Throwable::toString).orElse("");
                };
                System.out.println("test " + id.getDisplayName() + ": " + outcome.replace('\n', ' '));
            }
        };
        LauncherFactory.create().execute(request, summary, lines);
        TestExecutionSummary s = summary.getSummary();
        System.out.printf("tests: %d successful, %d failed, %d aborted%n", s.getTestsSucceededCount(),
                s.getTestsFailedCount(), s.getTestsAbortedCount());
        s.printFailuresTo(new PrintWriter(System.out, true), 40);
        System.out.flush();
        System.exit(s.getTestsFoundCount() > 0 && s.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
