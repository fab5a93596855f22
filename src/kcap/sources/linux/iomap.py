"""File reads and writes: one event per system call, or sums per time window.

A mixin of `Mapper`, like `netmap.NetworkMapping`: the descriptor table, process state and
event output live there. A read or write on a socket is handed to the network mapping. With
``io_window_ns`` set (``--io-aggregate``), reads and writes are summed per process, descriptor
and direction and written once per window, and always before the descriptor closes or the
process exits, so the byte counts stay exact while the event rate drops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kcap.model import Param
from kcap.sources.linux import probes as K
from kcap.sources.linux.mapper_core import MapperCore
from kcap.sources.linux.mapping_base import P, shared_params
from kcap.sources.linux.procfs import FD_SOCKET, FdInfo, handle_key
from kcap.sources.linux.taxonomy import I32, KINDS, PATH, PID, STR, U32, U64


class FileIoMapping(MapperCore):
    """Handlers of read/write exits (see `Mapper` for the state they use)."""

    io_window_ns: int
    _io_acc: dict[tuple[int, int, int], list[object]]

    if TYPE_CHECKING:
        _want_file: bool

    def _io_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self.pending.pop(tid, None)
        if entry is None:
            self.stats.unpaired += 1
            return
        kind, extra = entry
        ret = self._ret(buf, off)
        fd = extra[0]
        assert isinstance(fd, int)
        info = self.procs.get(pid)
        if info is None:
            info = self.proc(pid, cpu, ts)
        fdi = info.fds.get(fd)
        if fdi is not None and fdi.kind == FD_SOCKET:
            if ret >= 0 and self._want_net:
                self._net_event(info, pid, tid, cpu, ts, fd, fdi, kind == K.K_WRITE, ret, None)
            return
        if ret < 0 or not self._want_file:
            return
        if self.io_window_ns:
            self._aggregate_io(pid, tid, cpu, ts, kind, fd, fdi, ret)
            return
        self._io_event(pid, tid, cpu, ts, kind, fd, fdi, ret, 0)

    def _io_event(
        self,
        pid: int,
        tid: int,
        cpu: int,
        ts: int,
        kind: int,
        fd: int,
        fdi: FdInfo | None,
        size: int,
        calls: int,
    ) -> None:
        """A ReadFile/WriteFile; ``calls`` > 0 marks an aggregate of that many system calls."""
        write = kind == K.K_WRITE
        path = fdi.path if fdi is not None else ""
        fkind = fdi.kind if fdi is not None else ""

        def build() -> list[Param]:
            out = [
                P("pid", PID, pid),
                P("file_path", PATH, path),
                P("file_object", U64, handle_key(pid, fd)),
                P("fd", I32, fd),
                P("io_size", U32, min(size, 0xFFFFFFFF)),
                P("type", STR, fkind),
            ]
            if calls:
                out.append(P("io_count", U32, calls))
            return out

        self._ev(
            KINDS["WriteFile" if write else "ReadFile"],
            pid,
            tid,
            cpu,
            ts,
            shared_params((kind, pid, fd, size, path, fkind, calls), build),
        )

    def _aggregate_io(
        self,
        pid: int,
        tid: int,
        cpu: int,
        ts: int,
        kind: int,
        fd: int,
        fdi: FdInfo | None,
        size: int,
    ) -> None:
        """Sum reads/writes per (process, fd, direction) over ``io_window_ns``."""
        key = (pid, fd, kind)
        acc = self._io_acc.get(key)
        if acc is None:
            self._io_acc[key] = [ts, tid, cpu, 1, size, fdi]
            return
        acc[3] += 1  # type: ignore[operator]
        acc[4] += size  # type: ignore[operator]
        if ts - acc[0] >= self.io_window_ns:  # type: ignore[operator]
            self._flush_io_key(key)

    def _flush_io_key(self, key: tuple[int, int, int]) -> None:
        acc = self._io_acc.pop(key, None)
        if acc is None:
            return
        first, tid, cpu, calls, size, fdi = acc
        pid, fd, kind = key
        self._io_event(pid, tid, cpu, first, kind, fd, fdi, size, calls)  # type: ignore[arg-type]

    def flush_io(
        self, now_ns: int | None = None, pid: int | None = None, fd: int | None = None
    ) -> None:
        """Write out aggregated I/O: windows older than ``now_ns``, or those of one process or
        descriptor (before it closes), or all of them (no argument)."""
        if not self._io_acc:
            return
        for key in list(self._io_acc):
            if pid is not None and (key[0] != pid or (fd is not None and key[1] != fd)):
                continue
            if now_ns is not None and now_ns - self._io_acc[key][0] < self.io_window_ns:  # type: ignore[operator]
                continue
            self._flush_io_key(key)
