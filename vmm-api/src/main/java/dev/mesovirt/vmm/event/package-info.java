/**
 * Event loops: {@link dev.mesovirt.vmm.event.EventLoop}, a thread that waits in epoll on file descriptors (the
 * eventfds KVM signals, a backend's fds) and runs their handlers. It knows no device, transport or machine: the
 * virtio devices and the machines use it, never the other way round (a layering rule, LayeringTest).
 */
package dev.mesovirt.vmm.event;
