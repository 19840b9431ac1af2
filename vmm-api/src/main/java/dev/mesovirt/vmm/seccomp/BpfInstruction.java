package dev.mesovirt.vmm.seccomp;

/**
 * One classic-BPF instruction, {@code struct sock_filter} of linux/filter.h: a 16-bit opcode, two 8-bit relative jump
 * offsets (taken, not taken) and a 32-bit constant. Only the few opcodes a seccomp filter needs are named here.
 */
public record BpfInstruction(int code, int jt, int jf, int k) {
    /** sizeof(struct sock_filter). */
    public static final int SIZE = 8;

    /** BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k of struct seccomp_data. */
    public static final int LD_W_ABS = 0x20;
    /** BPF_JMP | BPF_JEQ | BPF_K: pc += (A == k) ? jt : jf. */
    public static final int JEQ_K = 0x15;
    /** BPF_JMP | BPF_JSET | BPF_K: pc += (A &amp; k) != 0 ? jt : jf. */
    public static final int JSET_K = 0x45;
    /** BPF_ALU | BPF_AND | BPF_K: A &amp;= k. */
    public static final int AND_K = 0x54;
    /** BPF_RET | BPF_K: return k. */
    public static final int RET_K = 0x06;

    public BpfInstruction {
        if (code < 0 || code > 0xffff || jt < 0 || jt > 0xff || jf < 0 || jf > 0xff) {
            throw new IllegalArgumentException("not a sock_filter: code " + code + " jt " + jt + " jf " + jf);
        }
    }

    static BpfInstruction load(int offset) {
        return new BpfInstruction(LD_W_ABS, 0, 0, offset);
    }

    static BpfInstruction jeq(int k, int jt, int jf) {
        return new BpfInstruction(JEQ_K, jt, jf, k);
    }

    static BpfInstruction jset(int k, int jt, int jf) {
        return new BpfInstruction(JSET_K, jt, jf, k);
    }

    static BpfInstruction and(int k) {
        return new BpfInstruction(AND_K, 0, 0, k);
    }

    static BpfInstruction ret(int k) {
        return new BpfInstruction(RET_K, 0, 0, k);
    }
}
