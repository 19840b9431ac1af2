package dev.mesovirt.vmm.kvm;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * A test class that drives a real {@code /dev/kvm} (tiny guests, not Linux): JUnit tag {@value #TAG}. {@code ci/test.sh}
 * runs {@code mvn verify} without these ({@code -DexcludedGroups=kvm}) and then runs them through
 * {@code ci/kvm-jobs.sh unit}: on this machine's {@code /dev/kvm} when it has a usable one, else inside the emulated
 * x86_64 KVM host, with the same JUnit XML reports. Each such test also calls {@link KvmAvailability#require()}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(RequiresKvm.TAG)
public @interface RequiresKvm {
    String TAG = "kvm";
}
