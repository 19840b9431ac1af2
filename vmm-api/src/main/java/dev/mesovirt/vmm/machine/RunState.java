package dev.mesovirt.vmm.machine;

/** A machine's life cycle states, named as QMP's query-status names them. */
public enum RunState {
    PRELAUNCH("prelaunch"), RUNNING("running"), PAUSED("paused"), SHUTDOWN("shutdown");

    private final String qmpName;

    RunState(String qmpName) {
        this.qmpName = qmpName;
    }

    public String qmpName() {
        return qmpName;
    }
}
