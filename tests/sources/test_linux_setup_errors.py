"""Missing kernel facilities give one actionable error and leave nothing open.

The kernel calls are replaced by stand-ins that fail the way a kernel without the facility
does, so these run anywhere; descriptors handed out by the stand-ins are real (/dev/null) so
the clean-up is checked for real.
"""

from __future__ import annotations

import errno
import os

import pytest

from kcap.errors import PermissionDenied, Unsupported
from kcap.sources.linux import bpf_loader, sysapi
from kcap.sources.linux.bpf_loader import KernelProbes
from kcap.sources.linux.probes import probe_table


class FakeRing:
    def __init__(self, fd: int, size: int) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def fake_kernel(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """bpf() calls that succeed with /dev/null descriptors; returns the descriptors made."""
    made: list[int] = []

    def fd(*args: object, **kwargs: object) -> int:
        n = os.open("/dev/null", os.O_RDONLY)
        made.append(n)
        return n

    monkeypatch.setattr(sysapi, "map_create", fd)
    monkeypatch.setattr(sysapi, "prog_load", fd)
    monkeypatch.setattr(sysapi, "raw_tracepoint_open", fd)
    monkeypatch.setattr(sysapi, "perf_event_open_tracepoint", fd)
    monkeypatch.setattr(sysapi, "map_update", lambda *a: None)
    monkeypatch.setattr(sysapi, "ioctl", lambda *a: None)
    monkeypatch.setattr(bpf_loader, "RingBuffer", FakeRing)
    monkeypatch.setattr(bpf_loader, "Counters", FakeRing)
    return made


def _all_closed(fds: list[int]) -> bool:
    for fd in fds:
        try:
            os.fstat(fd)
        except OSError:
            continue
        return False
    return True


def fail_with(err: int):  # type: ignore[no-untyped-def]
    def raiser(*args: object, **kwargs: object) -> int:
        raise OSError(err, os.strerror(err))

    return raiser


def test_no_bpf_syscall(monkeypatch: pytest.MonkeyPatch, fake_kernel: list[int]) -> None:
    monkeypatch.setattr(sysapi, "map_create", fail_with(errno.ENOSYS))
    with pytest.raises(Unsupported, match="CONFIG_BPF_SYSCALL"):
        KernelProbes(probe_table(), ring_size=1 << 20, self_pid=1).open()


def test_bpf_refused(monkeypatch: pytest.MonkeyPatch, fake_kernel: list[int]) -> None:
    monkeypatch.setattr(sysapi, "map_create", fail_with(errno.EPERM))
    with pytest.raises(PermissionDenied, match="root"):
        KernelProbes(probe_table(), ring_size=1 << 20, self_pid=1).open()


def test_no_tracefs(monkeypatch: pytest.MonkeyPatch, fake_kernel: list[int]) -> None:
    monkeypatch.setattr(bpf_loader.tracefs, "lookup", fail_with(errno.ENODEV))
    with pytest.raises(Unsupported, match=r"tracefs .*mount -t tracefs"):
        KernelProbes(probe_table(), ring_size=1 << 20, self_pid=1).open()
    assert fake_kernel and _all_closed(fake_kernel)


def test_program_refused_by_the_verifier(
    monkeypatch: pytest.MonkeyPatch, fake_kernel: list[int], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # no tracepoint exists: only syscalls get loaded
    monkeypatch.setattr(sysapi, "prog_load", fail_with(errno.EINVAL))
    monkeypatch.setattr(bpf_loader.tracefs, "lookup", lambda names: {})
    with pytest.raises(Unsupported, match="eBPF setup failed"):
        KernelProbes(probe_table(), ring_size=1 << 20, self_pid=1).open()
    assert _all_closed(fake_kernel)


@pytest.mark.skipif(
    not os.path.isdir("/sys/kernel/tracing/events") and os.geteuid() != 0,
    reason="needs readable tracepoint ids (tracefs mounted, or root to mount it)",
)
def test_no_perf_events(monkeypatch: pytest.MonkeyPatch, fake_kernel: list[int]) -> None:
    monkeypatch.setattr(sysapi, "perf_event_open_tracepoint", fail_with(errno.ENOENT))
    with pytest.raises(Unsupported, match="perf_event_open"):
        KernelProbes(probe_table(), ring_size=1 << 20, self_pid=1).open()
    assert fake_kernel and _all_closed(fake_kernel)
