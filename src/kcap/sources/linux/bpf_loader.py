"""Loading and attaching the capture's eBPF programs, and releasing every kernel object after.

All kernel objects are file descriptors owned by this process (maps, programs, perf events), so
`KernelProbes.close` only has to close them; if the process dies without running it the kernel
releases them anyway when it closes the process's descriptors.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
from collections.abc import Iterable

from kcap.errors import CaptureError, PermissionDenied, Unsupported
from kcap.sources.linux import sysapi, tracefs
from kcap.sources.linux.probes import (
    LOST_SLOTS,
    MAX_SYSCALL_NR,
    SYSCALL_NR,
    Maps,
    Probe,
    build_dispatcher,
    build_program,
)
from kcap.sources.linux.ringbuf import Counters, RingBuffer

# Offsets this code copies from non-syscall tracepoints; checked against the format files.
_EXPECTED_LAYOUT = {
    "task/task_newtask": {"pid": 8, "clone_flags": 32},
    "sched/sched_process_exit": {"pid": 24, "group_dead": 32},
    "sched/sched_process_exec": {"filename": 8, "pid": 12, "old_pid": 16},
    "sock/inet_sock_set_state": {
        "oldstate": 16,
        "newstate": 20,
        "sport": 24,
        "dport": 26,
        "family": 28,
        "protocol": 30,
        "saddr": 32,
        "daddr": 36,
        "saddr_v6": 40,
        "daddr_v6": 56,
    },
}


class KernelProbes:
    """The ring buffer, the helper maps and one attached program per available probe."""

    def __init__(self, probes: Iterable[Probe], *, ring_size: int, self_pid: int) -> None:
        self.ring_size = ring_size
        self.self_pid = self_pid
        self.probes = list(probes)
        self.attached: list[Probe] = []
        self.missing: list[str] = []
        self._fds: list[int] = []  # maps and programs
        self._perf_fds: list[int] = []
        self._raw_fds: list[int] = []
        self.maps: Maps | None = None
        self.ring: RingBuffer | None = None
        self._lost: Counters | None = None

    def open(self) -> KernelProbes:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def _map(
        self, map_type: int, key: int, value: int, entries: int, name: str, flags: int = 0
    ) -> int:
        fd = sysapi.map_create(map_type, key, value, entries, name, flags)
        self._fds.append(fd)
        return fd

    def _open(self) -> None:
        try:
            ring = self._map(sysapi.BPF_MAP_TYPE_RINGBUF, 0, 0, self.ring_size, "kcap_events")
            # mapped into this process: the counters are read without a system call
            lost = self._map(
                sysapi.BPF_MAP_TYPE_ARRAY,
                4,
                8,
                LOST_SLOTS,
                "kcap_lost",
                sysapi.BPF_F_MMAPABLE,
            )
            # per thread: a pointer and a word an entry program remembers for its exit
            saved = self._map(sysapi.BPF_MAP_TYPE_LRU_HASH, 4, 24, 8192, "kcap_saved")
        except OSError as exc:
            raise _bpf_error(exc) from None
        self.maps = Maps(ringbuf=ring, lost=lost, saved=saved)
        self.ring = RingBuffer(ring, self.ring_size)
        self._lost = Counters(lost, LOST_SLOTS)
        wanted = [p.tracepoint for p in self.probes if p.syscall is None]
        try:
            found = tracefs.lookup(wanted)
        except OSError as exc:
            raise Unsupported(
                "tracefs is not mounted (/sys/kernel/tracing) and mounting it failed "
                f"({exc.strerror or exc}); live capture needs a kernel with CONFIG_TRACING: "
                "mount it with 'mount -t tracefs nodev /sys/kernel/tracing' or run on a host "
                "kernel rather than in a user namespace"
            ) from None
        for tp, fields in _EXPECTED_LAYOUT.items():
            if tp not in found:
                continue
            fmt = found[tp].fields
            for name, off in fields.items():
                if name not in fmt or fmt[name].offset != off:
                    raise Unsupported(
                        f"tracepoint {tp} field {name} is not at offset {off} on this "
                        "kernel; this kcap does not know its record layout"
                    )
        ids: list[tuple[Probe, int]] = []
        for probe in self.probes:
            if probe.syscall is not None:
                continue  # attached through the raw sys_enter/sys_exit dispatchers
            if probe.tracepoint in found:
                ids.append((probe, found[probe.tracepoint].id))
            else:
                self.missing.append(probe.tracepoint)
        syscall_probes = [p for p in self.probes if p.syscall is not None]
        if syscall_probes:
            self._attach_syscalls(syscall_probes)
        for probe, tp_id in ids:
            prog = self._load(sysapi.BPF_PROG_TYPE_TRACEPOINT, probe)
            try:
                pfd = sysapi.perf_event_open_tracepoint(tp_id)
            except OSError as exc:
                raise Unsupported(
                    f"perf_event_open failed for tracepoint {probe.tracepoint} "
                    f"({exc.strerror or exc}); live capture needs CONFIG_PERF_EVENTS and root"
                ) from None
            self._perf_fds.append(pfd)
            try:
                sysapi.ioctl(pfd, sysapi.PERF_EVENT_IOC_SET_BPF, prog)
                sysapi.ioctl(pfd, sysapi.PERF_EVENT_IOC_ENABLE, 0)
            except OSError as exc:
                raise Unsupported(
                    f"attaching the eBPF program to {probe.tracepoint} failed "
                    f"({exc.strerror or exc})"
                ) from None
            self.attached.append(probe)

    def _load(self, prog_type: int, probe: Probe) -> int:
        assert self.maps is not None
        code = build_program(probe, self.maps, self.self_pid)
        try:
            prog = sysapi.prog_load(prog_type, code, f"kcap_{probe.kind}")
        except OSError as exc:
            raise _bpf_error(exc, probe.tracepoint) from None
        self._fds.append(prog)
        return prog

    def _attach_syscalls(self, probes: list[Probe]) -> None:
        """Load one program per syscall side into two program arrays, then attach the two
        raw-tracepoint dispatchers that tail-call them by syscall number."""
        arrays = {}
        for side in ("enter", "exit"):
            try:
                arrays[side] = self._map(
                    sysapi.BPF_MAP_TYPE_PROG_ARRAY, 4, 4, MAX_SYSCALL_NR, f"kcap_{side}"
                )
            except OSError as exc:
                raise _bpf_error(exc) from None
        for probe in probes:
            assert probe.syscall is not None
            nr = SYSCALL_NR.get(probe.syscall)
            if nr is None:
                self.missing.append(probe.tracepoint)
                continue
            prog = self._load(sysapi.BPF_PROG_TYPE_RAW_TRACEPOINT, probe)
            side = "exit" if probe.is_exit else "enter"
            sysapi.map_update(arrays[side], struct.pack("<I", nr), struct.pack("<I", prog))
            self.attached.append(probe)
        for side in ("enter", "exit"):
            code = build_dispatcher(side == "exit", arrays[side])
            try:
                prog = sysapi.prog_load(
                    sysapi.BPF_PROG_TYPE_RAW_TRACEPOINT, code, f"kcap_sys_{side}"
                )
            except OSError as exc:
                raise _bpf_error(exc, f"sys_{side}") from None
            self._fds.append(prog)
            try:
                self._raw_fds.append(sysapi.raw_tracepoint_open(f"sys_{side}", prog))
            except OSError as exc:
                raise Unsupported(
                    f"attaching to the raw tracepoint sys_{side} failed ({exc.strerror or exc}); "
                    "live capture needs CONFIG_BPF_EVENTS"
                ) from None

    def lost(self) -> dict[int, int]:
        """Records the programs could not reserve ring-buffer space for, by record kind."""
        return self._lost.nonzero() if self._lost is not None else {}

    def detach(self) -> None:
        """Stop the programs (closing their perf events) but keep the ring readable.

        Releasing a tracepoint's last perf event waits for an RCU grace period (~40-80 ms
        here) and the kernel serialises those, so closing runs in a few threads to overlap
        what it can; the events are disabled first so recording stops at once.
        """
        fds, self._perf_fds = self._perf_fds, []
        raw, self._raw_fds = self._raw_fds, []
        for fd in fds:
            try:
                sysapi.ioctl(fd, sysapi.PERF_EVENT_IOC_DISABLE, 0)
            except OSError:
                pass

        def close_all(chunk: list[int]) -> None:
            for fd in chunk:
                try:
                    os.close(fd)
                except OSError:
                    pass

        fds = raw + fds
        workers = [
            threading.Thread(target=close_all, args=(fds[i::8],), name="kcap-detach")
            for i in range(min(8, len(fds)))
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def close(self) -> None:
        self.detach()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        if self._lost is not None:
            self._lost.close()
            self._lost = None
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()

    def __enter__(self) -> KernelProbes:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bpf_error(exc: OSError, what: str = "") -> CaptureError:
    where = f" for {what}" if what else ""
    if exc.errno in (errno.EPERM, errno.EACCES):
        return PermissionDenied(
            f"the kernel refused eBPF{where} ({exc.strerror}): live capture needs root with "
            "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, outside a user namespace"
        )
    if exc.errno == errno.ENOSYS:
        return Unsupported(
            "the bpf() system call is not available: live capture needs a kernel built with "
            "CONFIG_BPF_SYSCALL"
        )
    return Unsupported(f"eBPF setup failed{where}: {exc}")
