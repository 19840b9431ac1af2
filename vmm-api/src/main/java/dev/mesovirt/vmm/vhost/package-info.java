/**
 * vhost: virtqueues served outside the VMM's device thread, by the kernel ({@code /dev/vhost-*}) or by another
 * process (vhost-user). {@link dev.mesovirt.vmm.vhost.VhostBackend} is the protocol as the front-end (this VMM) sees
 * it, whatever carries it: ioctls on a kernel device ({@link dev.mesovirt.vmm.vhost.KernelVhostBackend}) or messages
 * on a UNIX socket. {@link dev.mesovirt.vmm.vhost.VhostDevice} is the virtio device whose queues such a back-end
 * serves; device types ({@link dev.mesovirt.vmm.vhost.VhostVsock}) add their type, configuration space and
 * device-specific start and stop on top.
 */
package dev.mesovirt.vmm.vhost;
