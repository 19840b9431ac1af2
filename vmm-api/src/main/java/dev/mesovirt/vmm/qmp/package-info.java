/**
 * A QMP (QEMU Machine Protocol) server: the wire protocol, capabilities negotiation, command dispatch with QEMU's
 * error replies, and events. {@link dev.mesovirt.vmm.qmp.QmpServer} serves a {@link dev.mesovirt.vmm.qmp.QmpCommands}
 * registry on a UNIX socket; commands read their {@link dev.mesovirt.vmm.qmp.QmpArguments} and fail with a
 * {@link dev.mesovirt.vmm.qmp.QmpException}. What the commands do to a machine lives elsewhere (the machine core's
 * {@code dev.mesovirt.vmm.machine.MachineQmp}); nothing here knows a machine.
 *
 * <p>Known differences from QEMU, all on input QEMU clients do not send: requests are parsed by Gson in strict
 * mode, so QEMU's single-quoted strings are a parse error, and "JSON parse error, ..." descriptions are Gson's;
 * non-ASCII characters go out as UTF-8 where QEMU escapes them (both are valid JSON).
 */
package dev.mesovirt.vmm.qmp;
