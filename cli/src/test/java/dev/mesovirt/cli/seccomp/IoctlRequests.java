package dev.mesovirt.cli.seccomp;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.ClassNode;
import org.objectweb.asm.tree.FieldInsnNode;
import org.objectweb.asm.tree.IntInsnNode;
import org.objectweb.asm.tree.InvokeDynamicInsnNode;
import org.objectweb.asm.tree.LdcInsnNode;
import org.objectweb.asm.tree.LineNumberNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;
import org.objectweb.asm.tree.TypeInsnNode;
import org.objectweb.asm.tree.VarInsnNode;
import org.objectweb.asm.tree.analysis.Analyzer;
import org.objectweb.asm.tree.analysis.AnalyzerException;
import org.objectweb.asm.tree.analysis.Frame;
import org.objectweb.asm.tree.analysis.SourceInterpreter;
import org.objectweb.asm.tree.analysis.SourceValue;

/**
 * The ioctl requests the VMM's code can issue on one architecture once its seccomp filter is in, read from the
 * compiled classes of every module (the architecture-neutral ones and that architecture's own; no other
 * architecture's) by a class-hierarchy call graph and a data flow of each ioctl's request argument:
 *
 * <ul>
 *   <li><b>Calls:</b> from {@code dev.mesovirt.cli.Main.main} (bin/mesovirt's VMM; the QMP client and the jailer
 *       are other processes). A virtual or interface call reaches the method it names and every override in the
 *       classes in scope; a lambda or a method reference reaches its implementation; a class the reached code uses
 *       (makes, calls, names, reads a static of), and the architecture ServiceLoader makes, brings in its static
 *       initializer and every method it overrides or implements of a JDK or library type (what the JDK calls back:
 *       {@code Runnable.run} of the device and vCPU threads, {@code AutoCloseable.close}, a shutdown hook's run, ...).
 *       Only one method is not entered: {@code Machine.build}, which
 *       {@code Machine.start} calls before it installs the filter (the test checks that it is the only caller and
 *       calls it before the filter); what build hands out (lambdas) is still followed, and what a reset builds again
 *       is reached from {@code Machine.reset}.</li>
 *   <li><b>Requests:</b> every call that ends in {@code LibC.ioctl} (directly, or through a method that passes one
 *       of its parameters on as the request, such as {@code Sys.ioctl}, {@code Vm.ioctl} or the vhost back-end's
 *       helpers) must get its request from a constant (a literal or a static field, read here by reflection), or
 *       the analysis fails naming the call: a request computed at run time would be a request no list can name.</li>
 *   <li><b>Requests made by glibc and the JDK on the VMM's behalf</b> ({@link #IMPLIED}): glibc's {@code isatty} and
 *       {@code tcgetattr} issue TCGETS, {@code tcsetattr(fd, TCSANOW|TCSADRAIN|TCSAFLUSH)} TCSETS, TCSETSW or
 *       TCSETSF; the JDK's {@code FileChannel.size()} is BLKGETSIZE64 on a block device and
 *       {@code InputStream.available()} is FIONREAD.</li>
 * </ul>
 */
final class IoctlRequests {
    /** The VMM's entry point (bin/mesovirt). */
    static final String MAIN = "dev/mesovirt/cli/Main.main([Ljava/lang/String;)V";
    /** Runs before the filter goes in; see the class comment. */
    static final String BEFORE_FILTER = "dev/mesovirt/vmm/machine/Machine.build()V";
    static final String START = "dev/mesovirt/vmm/machine/Machine.start(Z)V";
    static final String INSTALL = "dev/mesovirt/vmm/machine/Machine.installSeccomp"
            + "(Ldev/mesovirt/vmm/seccomp/SeccompFilter$Mode;)V";
    static final List<String> ARCHES = List.of("x86_64", "aarch64", "riscv64");

    static final long TCGETS = 0x5401;
    static final long TCSETS = 0x5402;
    static final long TCSETSW = 0x5403;
    static final long TCSETSF = 0x5404;
    static final long FIONREAD = 0x541b;
    static final long BLKGETSIZE64 = 0x80081272L;

    /** Calls that issue an ioctl of their own (glibc's and the JDK's): owner.name(desc) to the request. */
    static final Map<String, Long> IMPLIED = Map.of(
            "dev/mesovirt/vmm/sys/LibC.isatty(I)I", TCGETS,
            "dev/mesovirt/vmm/sys/LibC.tcgetattr(ILcom/sun/jna/Pointer;)I", TCGETS,
            "java/nio/channels/FileChannel.size()J", BLKGETSIZE64,
            "java/io/InputStream.available()I", FIONREAD,
            "java/io/FileInputStream.available()I", FIONREAD);
    /** glibc's tcsetattr: its optional_actions (argument 1) names the request. */
    static final String TCSETATTR = "dev/mesovirt/vmm/sys/LibC.tcsetattr(IILcom/sun/jna/Pointer;)I";
    static final Map<Long, Long> TCSETATTR_REQUEST = Map.of(0L, TCSETS, 1L, TCSETSW, 2L, TCSETSF);

    /** Where a request (the low 32 bits) is issued: one call site per request, for messages. */
    record Result(Map<Long, String> requests, int sites, List<String> unresolved, List<String> buildCallers,
            boolean buildBeforeFilter) {}

    private final Map<String, ClassNode> classes = new HashMap<>();
    private final ClassLoader loader = IoctlRequests.class.getClassLoader();

    /** Reads every main class of the project (no test classes) once. */
    IoctlRequests() throws IOException {
        for (JavaClass c : new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.mesovirt")) {
            String name = c.getName().replace('.', '/');
            try (InputStream in = c.getSource().orElseThrow().getUri().toURL().openStream()) {
                ClassNode node = new ClassNode();
                new ClassReader(in).accept(node, ClassReader.SKIP_FRAMES);
                classes.put(name, node);
            }
        }
    }

    int classCount() {
        return classes.size();
    }

    /** The analysis for {@code arch}'s VMM: the classes in scope are all but the other architectures'. */
    Result analyse(String arch) throws ReflectiveOperationException {
        return new Scope(arch).run();
    }

    private final class Scope {
        private final String arch;
        private final Map<String, Set<String>> subtypes = new HashMap<>();
        /** method key to the argument index that carries the request on to LibC.ioctl */
        private final Map<String, Integer> sinks = new HashMap<>();
        private final Map<String, Frame<SourceValue>[]> frames = new HashMap<>();
        private final Map<Long, String> requests = new TreeMap<>();
        private final List<String> unresolved = new ArrayList<>();
        private final Set<String> reached = new HashSet<>();
        private final Set<String> live = new HashSet<>();
        private final Deque<String> todo = new ArrayDeque<>();
        private int sites;

        Scope(String arch) {
            this.arch = arch;
            for (ClassNode c : classes.values()) {
                if (inScope(c.name)) {
                    for (String s : ancestors(c.name)) {
                        subtypes.computeIfAbsent(s, k -> new HashSet<>()).add(c.name);
                    }
                }
            }
            sinks.put("dev/mesovirt/vmm/sys/LibC.ioctl(IJLcom/sun/jna/Pointer;)I", 1);
            sinks.put("dev/mesovirt/vmm/sys/LibC.ioctl(IJJ)I", 1);
        }

        boolean inScope(String internalName) {
            if (!classes.containsKey(internalName)) {
                return false;
            }
            for (String other : ARCHES) {
                if (!other.equals(arch) && internalName.startsWith("dev/mesovirt/arch/" + other + "/")) {
                    return false;
                }
            }
            return true;
        }

        /** The project classes and interfaces {@code name} extends or implements, itself included. */
        Set<String> ancestors(String name) {
            Set<String> seen = new HashSet<>();
            Deque<String> todo = new ArrayDeque<>(List.of(name));
            while (!todo.isEmpty()) {
                String n = todo.pop();
                ClassNode c = classes.get(n);
                if (c != null && seen.add(n)) {
                    if (c.superName != null) {
                        todo.push(c.superName);
                    }
                    todo.addAll(c.interfaces);
                }
            }
            return seen;
        }

        Result run() throws ReflectiveOperationException {
            findForwarders();
            List<String> buildCallers = new ArrayList<>();
            enqueue(MAIN);
            for (String provider : serviceProviders()) {
                live(provider);
            }
            while (!todo.isEmpty()) {
                String key = todo.pop();
                live(key.substring(0, key.indexOf('.')));
                MethodNode m = method(key);
                if (m == null || m.instructions == null) {
                    continue;
                }
                boolean cut = key.equals(BEFORE_FILTER);
                for (AbstractInsnNode insn : m.instructions) {
                    if (insn instanceof MethodInsnNode call) {
                        String callee = call.owner + "." + call.name + call.desc;
                        if (callee.equals(BEFORE_FILTER)) {
                            buildCallers.add(key);
                        }
                        if (cut) {
                            continue;
                        }
                        List<String> targets = targets(call.getOpcode(), call.owner, call.name, call.desc);
                        collect(key, m, insn, callee, targets);
                        targets.forEach(this::enqueue);
                    } else if (insn instanceof InvokeDynamicInsnNode indy) {
                        for (Object a : indy.bsmArgs) {
                            if (a instanceof Handle h && inScope(h.getOwner())) {
                                boolean virtual = h.getTag() == Opcodes.H_INVOKEVIRTUAL
                                        || h.getTag() == Opcodes.H_INVOKEINTERFACE;
                                targets(virtual ? Opcodes.INVOKEVIRTUAL : Opcodes.INVOKESTATIC, h.getOwner(),
                                        h.getName(), h.getDesc()).forEach(this::enqueue);
                            } else if (a instanceof Handle h && IMPLIED.containsKey(key(h))) {
                                add(IMPLIED.get(key(h)), key + " (method reference)");
                            }
                        }
                    } else if (!cut && insn instanceof TypeInsnNode t && t.getOpcode() == Opcodes.NEW) {
                        live(t.desc);
                    } else if (!cut && insn instanceof FieldInsnNode f) {
                        live(f.owner);
                    } else if (!cut && insn instanceof LdcInsnNode ldc && ldc.cst instanceof Type t
                            && t.getSort() == Type.OBJECT) {
                        live(t.getInternalName());
                    }
                }
            }
            return new Result(requests, sites, unresolved, buildCallers, buildBeforeFilter());
        }

        private void enqueue(String method) {
            if (reached.add(method)) {
                todo.add(method);
            }
        }

        /**
         * A class the reached code uses (makes, calls, reads a static of, names): its static initializer and its
         * call-backs (and its ancestors') may run.
         */
        private void live(String name) throws ReflectiveOperationException {
            for (String c : ancestors(name)) {
                if (!inScope(c) || !live.add(c)) {
                    continue;
                }
                ClassNode node = classes.get(c);
                Set<String> external = externalMethods(node);
                for (MethodNode m : node.methods) {
                    boolean callback = (m.access & (Opcodes.ACC_STATIC | Opcodes.ACC_PRIVATE)) == 0
                            && !m.name.equals("<init>") && external.contains(m.name + m.desc);
                    if (m.name.equals("<clinit>") || callback) {
                        enqueue(c + "." + m.name + m.desc);
                    }
                }
            }
        }

        /** The classes ServiceLoader makes (the architectures): no code of ours names them. */
        private List<String> serviceProviders() throws ReflectiveOperationException {
            List<String> out = new ArrayList<>();
            try {
                for (java.net.URL u : java.util.Collections.list(
                        loader.getResources("META-INF/services/dev.mesovirt.vmm.arch.Architecture"))) {
                    try (InputStream in = u.openStream()) {
                        for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                                .split("\n")) {
                            String name = line.replaceAll("#.*", "").strip();
                            if (!name.isEmpty()) {
                                out.add(name.replace('.', '/'));
                            }
                        }
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return out;
        }

        /** Every method that passes one of its parameters on as an ioctl request, until nothing changes. */
        void findForwarders() throws ReflectiveOperationException {
            boolean changed = true;
            while (changed) {
                changed = false;
                for (ClassNode c : classes.values()) {
                    if (!inScope(c.name)) {
                        continue;
                    }
                    for (MethodNode m : c.methods) {
                        String key = c.name + "." + m.name + m.desc;
                        if (m.instructions == null || sinks.containsKey(key)) {
                            continue;
                        }
                        for (AbstractInsnNode insn : m.instructions) {
                            if (insn instanceof MethodInsnNode call) {
                                Integer arg = sinkArgument(targets(call.getOpcode(), call.owner, call.name, call.desc));
                                if (arg != null) {
                                    for (Object v : sources(key, m, insn, call.desc, arg)) {
                                        if (v instanceof Param p) {
                                            sinks.put(key, p.index());
                                            changed = true;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        Integer sinkArgument(List<String> targets) {
            for (String t : targets) {
                if (sinks.containsKey(t)) {
                    return sinks.get(t);
                }
            }
            return null;
        }

        /** The requests a call in a reached method issues, if it is an ioctl or one of the calls that imply one. */
        void collect(String key, MethodNode m, AbstractInsnNode insn, String callee, List<String> targets)
                throws ReflectiveOperationException {
            MethodInsnNode call = (MethodInsnNode) insn;
            String where = key + " line " + line(insn);
            Integer arg = sinkArgument(targets.isEmpty() ? List.of(callee) : targets);
            if (arg != null) {
                sites++;
                for (Object v : sources(key, m, insn, call.desc, arg)) {
                    if (v instanceof Long request) {
                        add(request, where);
                    } else if (!(v instanceof Param && sinks.containsKey(key))) {
                        unresolved.add(where + ": " + v);
                    }
                }
            }
            Long implied = IMPLIED.get(callee);
            if (implied == null) {
                for (String t : targets) {
                    implied = implied != null ? implied : IMPLIED.get(t);
                }
            }
            if (implied != null) {
                sites++;
                add(implied, where);
            }
            if (callee.equals(TCSETATTR)) {
                sites++;
                for (Object v : sources(key, m, insn, call.desc, 1)) {
                    Long request = v instanceof Long action ? TCSETATTR_REQUEST.get(action) : null;
                    if (request != null) {
                        add(request, where);
                    } else {
                        unresolved.add(where + ": tcsetattr's optional_actions " + v);
                    }
                }
            }
        }

        void add(long request, String where) {
            if ((request & ~0xffff_ffffL) != 0) {
                unresolved.add(where + ": request 0x" + Long.toHexString(request) + " has bits above the low 32");
            }
            requests.putIfAbsent(request & 0xffff_ffffL, where);
        }

        /** Where {@code owner.name desc} goes: the method it resolves to, and for a virtual call every override. */
        List<String> targets(int opcode, String owner, String name, String desc) {
            if (!inScope(owner)) {
                return List.of();
            }
            Set<String> out = new HashSet<>();
            String declared = resolveUp(owner, name, desc);
            if (declared != null) {
                out.add(declared);
            }
            if (opcode == Opcodes.INVOKEVIRTUAL || opcode == Opcodes.INVOKEINTERFACE) {
                for (String s : subtypes.getOrDefault(owner, Set.of())) {
                    if (declares(s, name, desc)) {
                        out.add(s + "." + name + desc);
                    }
                }
            }
            return List.copyOf(out);
        }

        String resolveUp(String owner, String name, String desc) {
            for (String c = owner; c != null && classes.containsKey(c); c = classes.get(c).superName) {
                if (declares(c, name, desc)) {
                    return c + "." + name + desc;
                }
            }
            for (String c : ancestors(owner)) {
                if (declares(c, name, desc)) {
                    return c + "." + name + desc;
                }
            }
            return null;
        }

        boolean declares(String owner, String name, String desc) {
            ClassNode c = classes.get(owner);
            return c != null && c.methods.stream().anyMatch(m -> m.name.equals(name) && m.desc.equals(desc));
        }

        MethodNode method(String key) {
            int dot = key.indexOf('.');
            int paren = key.indexOf('(');
            ClassNode c = classes.get(key.substring(0, dot));
            if (c == null) {
                return null;
            }
            String name = key.substring(dot + 1, paren);
            String desc = key.substring(paren);
            return c.methods.stream().filter(m -> m.name.equals(name) && m.desc.equals(desc)).findFirst().orElse(null);
        }

        /** name+descriptor of every method the JDK or library supertypes of {@code c} declare. */
        Set<String> externalMethods(ClassNode c) throws ReflectiveOperationException {
            Set<String> out = new HashSet<>();
            Deque<Class<?>> todo = new ArrayDeque<>();
            todo.add(Class.forName(c.name.replace('/', '.'), false, loader));
            Set<Class<?>> seen = new HashSet<>();
            while (!todo.isEmpty()) {
                Class<?> k = todo.pop();
                if (!seen.add(k)) {
                    continue;
                }
                if (!k.getName().startsWith("dev.mesovirt.")) {
                    for (Method m : k.getDeclaredMethods()) {
                        if (!Modifier.isStatic(m.getModifiers()) && !Modifier.isPrivate(m.getModifiers())) {
                            out.add(m.getName() + MethodType.methodType(m.getReturnType(), m.getParameterTypes())
                                    .toMethodDescriptorString());
                        }
                    }
                }
                if (k.getSuperclass() != null) {
                    todo.add(k.getSuperclass());
                }
                todo.addAll(List.of(k.getInterfaces()));
            }
            return out;
        }

        /** Whether Machine.start calls build before it installs the filter. */
        boolean buildBeforeFilter() {
            MethodNode start = method(START);
            int build = -1;
            int install = -1;
            for (AbstractInsnNode insn : start.instructions) {
                if (insn instanceof MethodInsnNode call) {
                    String callee = call.owner + "." + call.name + call.desc;
                    if (callee.equals(BEFORE_FILTER) && build < 0) {
                        build = start.instructions.indexOf(insn);
                    } else if (callee.equals(INSTALL) && install < 0) {
                        install = start.instructions.indexOf(insn);
                    }
                }
            }
            return build >= 0 && install > build;
        }

        /**
         * What argument {@code arg} of the call {@code insn} (descriptor {@code desc}) in method {@code key} can be:
         * {@link Long} constants, {@link Param}s of the method, or a String saying why it is neither.
         */
        Set<Object> sources(String key, MethodNode m, AbstractInsnNode insn, String desc, int arg)
                throws ReflectiveOperationException {
            Frame<SourceValue>[] f = frames(key, m);
            Frame<SourceValue> at = f[m.instructions.indexOf(insn)];
            Set<Object> out = new HashSet<>();
            if (at == null) {
                return out; // unreachable code
            }
            int n = Type.getArgumentTypes(desc).length;
            resolve(key, m, at.getStack(at.getStackSize() - n + arg), out, new HashSet<>());
            return out;
        }

        void resolve(String key, MethodNode m, SourceValue v, Set<Object> out, Set<AbstractInsnNode> seen)
                throws ReflectiveOperationException {
            Frame<SourceValue>[] f = frames(key, m);
            for (AbstractInsnNode insn : v.insns) {
                if (!seen.add(insn)) {
                    continue;
                }
                int op = insn.getOpcode();
                Frame<SourceValue> at = f[m.instructions.indexOf(insn)];
                if (insn instanceof LdcInsnNode ldc && ldc.cst instanceof Number number) {
                    out.add(number.longValue());
                } else if (op >= Opcodes.ICONST_M1 && op <= Opcodes.ICONST_5) {
                    out.add((long) (op - Opcodes.ICONST_0));
                } else if (op == Opcodes.LCONST_0 || op == Opcodes.LCONST_1) {
                    out.add((long) (op - Opcodes.LCONST_0));
                } else if (op == Opcodes.BIPUSH || op == Opcodes.SIPUSH) {
                    out.add((long) ((IntInsnNode) insn).operand);
                } else if (op == Opcodes.GETSTATIC && insn instanceof FieldInsnNode fi
                        && (fi.desc.equals("J") || fi.desc.equals("I"))) {
                    Field field = Class.forName(fi.owner.replace('/', '.'), true, loader).getDeclaredField(fi.name);
                    field.setAccessible(true);
                    out.add(field.getLong(null));
                } else if (op == Opcodes.I2L) {
                    resolve(key, m, at.getStack(at.getStackSize() - 1), out, seen);
                } else if ((op == Opcodes.LLOAD || op == Opcodes.ILOAD) && insn instanceof VarInsnNode load) {
                    SourceValue local = at.getLocal(load.var);
                    if (local.insns.isEmpty()) {
                        out.add(param(m, load.var));
                    } else {
                        for (AbstractInsnNode store : local.insns) {
                            Frame<SourceValue> s = f[m.instructions.indexOf(store)];
                            if (s == null) {
                                continue;
                            }
                            if (!seen.add(store)) {
                                continue;
                            }
                            if (store instanceof VarInsnNode) {
                                resolve(key, m, s.getStack(s.getStackSize() - 1), out, seen);
                            } else {
                                out.add("local " + load.var + " set by opcode " + store.getOpcode());
                            }
                        }
                    }
                } else {
                    out.add("a value made by opcode " + op + " at line " + line(insn));
                }
            }
        }

        /** The parameter index of local variable slot {@code slot} at the method's entry. */
        Object param(MethodNode m, int slot) {
            int s = (m.access & Opcodes.ACC_STATIC) != 0 ? 0 : 1;
            Type[] args = Type.getArgumentTypes(m.desc);
            for (int i = 0; i < args.length; i++) {
                if (s == slot) {
                    return new Param(i);
                }
                s += args[i].getSize();
            }
            return "local " + slot + " without a store";
        }

        @SuppressWarnings("unchecked")
        Frame<SourceValue>[] frames(String key, MethodNode m) {
            return frames.computeIfAbsent(key, k -> {
                try {
                    return new Analyzer<>(new SourceInterpreter()).analyze(k.substring(0, k.indexOf('.')), m);
                } catch (AnalyzerException e) {
                    throw new IllegalStateException(k + ": " + e.getMessage(), e);
                }
            });
        }
    }

    record Param(int index) {}

    private static String key(Handle h) {
        return h.getOwner() + "." + h.getName() + h.getDesc();
    }

    private static int line(AbstractInsnNode insn) {
        for (AbstractInsnNode i = insn; i != null; i = i.getPrevious()) {
            if (i instanceof LineNumberNode l) {
                return l.line;
            }
        }
        return -1;
    }

    /** The requests by number, for messages: 0x... with the name a table gives it. */
    static String describe(Map<Long, String> requests, Map<Integer, String> names) {
        Map<String, String> out = new LinkedHashMap<>();
        requests.forEach((r, where) -> out.put(String.format("0x%08x %s", r,
                names.getOrDefault((int) (long) r, "?")), where));
        StringBuilder b = new StringBuilder();
        out.forEach((k, v) -> b.append("\n  ").append(k).append("  <- ").append(v));
        return b.toString();
    }
}
