package dev.mesovirt.cli.jailer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JailerOptionsTest {
    private static JailerOptions parse(String... args) throws JailerException {
        return JailerOptions.parse(args);
    }

    private static String error(String... args) {
        return assertThrows(JailerException.class, () -> JailerOptions.parse(args)).getMessage();
    }

    @Test
    void firecrackerSpellings() throws Exception {
        JailerOptions o = parse("--id", "vm-1", "--uid", "1000", "--gid=1001", "--exec-file", "/opt/m/bin/mesovirt",
                "--chroot-base-dir", "/var/jail", "--netns", "/var/run/netns/n1", "--cgroup", "cpu.max=50000 100000",
                "--cgroup=memory.max=512M", "--cgroup", "pids.max=64", "--parent-cgroup", "vms", "--cgroup-version", "2",
                "--", "-kernel", "k", "-m", "256");
        assertEquals("vm-1", o.id());
        assertEquals(1000, o.uid());
        assertEquals(1001, o.gid());
        assertEquals(Optional.of(Path.of("/opt/m/bin/mesovirt")), o.execFile());
        assertEquals(Path.of("/var/jail"), o.chrootBase());
        assertEquals(Optional.of(Path.of("/var/run/netns/n1")), o.netns());
        assertEquals("vms", o.parentCgroup());
        assertEquals(List.of("cpu.max", "memory.max", "pids.max"), List.copyOf(o.cgroups().keySet()));
        assertEquals("50000 100000", o.cgroups().get("cpu.max"));
        assertEquals(List.of("-kernel", "k", "-m", "256"), o.vmmArgs());
        assertTrue(o.resourceLimits().isEmpty());
        assertFalse(o.daemonize());
        JailerOptions d = parse("--id", "a", "--uid", "1", "--gid", "1", "--daemonize", "--log-path=/var/log/vm.log",
                "--", "-kernel", "k");
        assertTrue(d.daemonize());
        assertEquals(Optional.of(Path.of("/var/log/vm.log")), d.logPath());
        JailerOptions limited = parse("--id", "a", "--uid", "1", "--gid", "1", "--resource-limit", "no-file=4096",
                "--resource-limit=fsize=0", "--", "-kernel", "k");
        assertEquals(List.of("no-file", "fsize"), List.copyOf(limited.resourceLimits().keySet()));
        assertEquals(4096L, limited.resourceLimits().get("no-file"));
        assertEquals(0L, limited.resourceLimits().get("fsize"));
    }

    @Test
    void ozoneSpellings() throws Exception {
        JailerOptions o = parse("-name", "vm2", "-uid", "7", "-gid", "8", "-exec_file", "/usr/bin/mesovirt",
                "-netns", "/run/netns/x", "-cgroup", "memory.max=1G,pids.max=100", "-clean-resource", "--", "-kernel", "k");
        assertEquals("vm2", o.id());
        assertEquals(7, o.uid());
        assertEquals(8, o.gid());
        assertEquals(Map.of("memory.max", "1G", "pids.max", "100"), o.cgroups());
        assertEquals(Optional.of(Path.of("/run/netns/x")), o.netns());
        // ozone's options with several values, its capabilities and NUMA node
        JailerOptions more = parse("-name", "vm3", "-uid", "7", "-gid", "8", "-source_file", "/img/k", "img/r",
                "-cgroup", "pids.max=10", "cpu.max=max", "-capability", "CAP_NET_ADMIN,cap_sys_nice", "-numa", "0",
                "-source", "/x", "--", "-kernel", "k");
        assertEquals(List.of(Path.of("/img/k"), Path.of("img/r").toAbsolutePath(), Path.of("/x")), more.sourceFiles());
        assertEquals(List.of("pids.max", "cpu.max", "cpuset.mems"), List.copyOf(more.cgroups().keySet()));
        assertEquals("0", more.cgroups().get("cpuset.mems"));
        assertEquals(java.util.Set.of("net_admin", "sys_nice"), more.capabilities());
    }

    @Test
    void defaults() throws Exception {
        JailerOptions o = parse("--id", "a", "--uid", "1", "--gid", "1", "--", "-kernel", "k");
        assertEquals(JailerOptions.DEFAULT_CHROOT_BASE, o.chrootBase());
        assertEquals("mesovirt", o.parentCgroup());
        assertEquals(Optional.empty(), o.execFile());
        assertEquals(Optional.empty(), o.netns());
        assertTrue(o.cgroups().isEmpty());
        assertTrue(o.capabilities().isEmpty());
        assertTrue(o.sourceFiles().isEmpty());
    }

    @Test
    void helpIsNotAnError() {
        assertThrows(JailerException.Help.class, () -> JailerOptions.parse(new String[] {"--help"}));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--uid 1 --gid 1 -- -kernel k | --id ID is required",
        "--id a --gid 1 -- -kernel k | --uid is required",
        "--id a --uid 1 -- -kernel k | --gid is required",
        "--id a --uid 0 --gid 1 -- -kernel k | --uid 0: the VMM must not run as root",
        "--id a --uid 1 --gid 0 -- -kernel k | --gid 0: the VMM must not run as root",
        "--id a --uid x --gid 1 -- -kernel k | --uid x: not a number",
        "--id a --uid 4294967295 --gid 1 -- -kernel k | --uid 4294967295: out of range (1 to 4294967294)",
        "--id a/b --uid 1 --gid 1 -- -kernel k | --id a/b: use 1 to 64 letters, digits and '-'",
        "--id a --uid 1 --gid 1 | no mesovirt options: give them after --",
        "--id a --uid 1 --gid 1 -- | no mesovirt options: give them after --",
        "--id a --uid 1 --gid 1 --bogus 3 -- -kernel k | unknown option --bogus (try --help)",
        "--id a --uid 1 --gid 1 -kernel k | unknown option -kernel (try --help)",
        "--id a --uid 1 --gid 1 stray -- -kernel k | unexpected argument 'stray' (the mesovirt options go after --)",
        "--id a --uid 1 --gid 1 --netns | option --netns needs an argument",
        "--id a --id b --uid 1 --gid 1 -- -kernel k | option --id given more than once",
        "--id a --uid 1 --gid 1 --cgroup-version 1 -- -kernel k | --cgroup-version 1: only cgroup v2 is supported",
        "--id a --uid 1 --gid 1 --cgroup memory.max -- -kernel k | --cgroup memory.max: expected FILE=VALUE, e.g. memory.max=512M",
        "--id a --uid 1 --gid 1 --cgroup memory.max= -- -kernel k | --cgroup memory.max=: empty or multi-line value",
        "--id a --uid 1 --gid 1 --parent-cgroup ../x -- -kernel k | --parent-cgroup ../x: use a plain directory name",
        "--id a --uid 1 --gid 1 --log-path /var/log/vm.log -- -kernel k | --log-path is for --daemonize (without it the VMM's output is the jailer's)",
        "--id a --uid 1 --gid 1 --daemonize --log-path a --log-path b -- -kernel k | option --log-path given more than once",
        "--id a --uid 1 --gid 1 --capability CAP_FOO -- -kernel k | --capability CAP_FOO: not a capability (capabilities(7): CAP_NET_ADMIN, CAP_SYS_NICE, ...)",
        "--id a --uid 1 --gid 1 -capability net_admin, -- -kernel k | -capability : not a capability (capabilities(7): CAP_NET_ADMIN, CAP_SYS_NICE, ...)",
        "--id a --uid 1 --gid 1 -numa x -- -kernel k | -numa x: a NUMA node number, e.g. 0",
        "--id a --uid 1 --gid 1 -numa 0 --cgroup cpuset.mems=1 -- -kernel k | --cgroup: cpuset.mems given more than once",
        "--id a --uid 1 --gid 1 -source_file -- -kernel k | option -source_file needs an argument",
        "--id a --uid 1 --gid 1 --resource-limit nproc=5 -- -kernel k | --resource-limit nproc=5: the resources are fsize and no-file, e.g. no-file=1024",
        "--id a --uid 1 --gid 1 --resource-limit no-file -- -kernel k | --resource-limit no-file: expected no-file=N, N a number from 0",
        "--id a --uid 1 --gid 1 --resource-limit fsize=-1 -- -kernel k | --resource-limit fsize=-1: expected fsize=N, N a number from 0",
        "--id a --uid 1 --gid 1 --resource-limit fsize=1G -- -kernel k | --resource-limit fsize=1G: expected fsize=N, N a number from 0",
        "--id a --uid 1 --gid 1 --resource-limit fsize=1 --resource-limit fsize=2 -- -kernel k | --resource-limit: fsize given more than once",
    })
    void errors(String args, String message) {
        assertEquals(message, error(args.split(" ")));
    }

    @Test
    void onlyKnownCgroupFiles() {
        assertTrue(error("--id", "a", "--uid", "1", "--gid", "1", "--cgroup", "cgroup.procs=1", "--", "-kernel", "k")
                .startsWith("--cgroup cgroup.procs=1: cgroup.procs is not one of cpu.max, cpu.weight, cpuset.cpus"));
        assertEquals("--cgroup: pids.max given more than once", error("--id", "a", "--uid", "1", "--gid", "1",
                "--cgroup", "pids.max=1", "--cgroup", "pids.max=2", "--", "-kernel", "k"));
    }
}
