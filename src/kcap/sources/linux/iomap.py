"""File reads and writes: one event per system call, or sums per time window.

A read or write on a socket is handed to the network handler. With ``window_ns`` set
(``--io-aggregate``), reads and writes are summed per process, descriptor and direction and
written once per window, and always before the descriptor closes or the process exits, so the
byte counts stay exact while the event rate drops.
"""

from __future__ import annotations

from kcap.model import Param
from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.mapping_base import WORDS, P, s32, s64, shared_params
from kcap.sources.linux.netmap import NetworkRecords
from kcap.sources.linux.procfs import FD_SOCKET, FdInfo, handle_key
from kcap.sources.linux.taxonomy import I32, KINDS, PATH, PID, STR, U32, U64

#: an aggregate in progress: [first ts, tid, cpu, calls, bytes, descriptor]
_Acc = list[object]


class FileIo:
    """Handlers of read/write exits, and the aggregation windows."""

    def __init__(self, ctx: MappingContext, net: NetworkRecords) -> None:
        self.ctx = ctx
        self.net = net
        #: aggregate reads and writes over this window (0: one event per system call)
        self.window_ns = 0
        self.acc: dict[tuple[int, int, int], _Acc] = {}

    def io_ret(self, buf: memoryview, off: int) -> None:
        """A read or write exit; the kernel program put the descriptor (remembered at entry,
        plus one; 0 when it was not) after the return value."""
        ctx = self.ctx
        rec = ctx.rec
        raw_ret, saved = WORDS[2].unpack_from(buf, off + K.HEADER_SIZE)
        if saved == 0:
            ctx.count_unpaired()
            return
        ret = s64(raw_ret)
        fd = s32(saved - 1)
        kind = K.K_WRITE if rec.kind == K.K_WRITE_RET else K.K_READ
        pid = rec.pid
        info = ctx.procs.get(pid)
        if info is None:
            info = ctx.proc(pid)
        fdi = info.fds.get(fd)
        if fdi is not None and fdi.kind == FD_SOCKET:
            if ret >= 0 and ctx.want_net:
                self.net.net_event(info, fd, fdi, kind == K.K_WRITE, ret, None)
            return
        if ret < 0 or not ctx.want_file:
            return
        if self.window_ns:
            self._aggregate(kind, fd, fdi, ret)
            return
        self._io_event(pid, rec.tid, rec.cpu, rec.ts, kind, fd, fdi, ret, 0)

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
        path = fdi.path if fdi is not None else ""
        fkind = fdi.kind if fdi is not None else ""
        self.ctx.event_at(
            KINDS["WriteFile" if kind == K.K_WRITE else "ReadFile"],
            pid,
            tid,
            cpu,
            ts,
            shared_params(
                (kind, pid, fd, size, path, fkind, calls),
                _io_params,
                pid,
                fd,
                path,
                fkind,
                size,
                calls,
            ),
        )

    def _aggregate(self, kind: int, fd: int, fdi: FdInfo | None, size: int) -> None:
        """Sum reads/writes per (process, fd, direction) over ``window_ns``."""
        rec = self.ctx.rec
        key = (rec.pid, fd, kind)
        acc = self.acc.get(key)
        if acc is None:
            self.acc[key] = [rec.ts, rec.tid, rec.cpu, 1, size, fdi]
            return
        acc[3] += 1  # type: ignore[operator]
        acc[4] += size  # type: ignore[operator]
        if rec.ts - acc[0] >= self.window_ns:  # type: ignore[operator]
            self._flush_key(key)

    def _flush_key(self, key: tuple[int, int, int]) -> None:
        acc = self.acc.pop(key, None)
        if acc is None:
            return
        first, tid, cpu, calls, size, fdi = acc
        pid, fd, kind = key
        self._io_event(pid, tid, cpu, first, kind, fd, fdi, size, calls)  # type: ignore[arg-type]

    def flush(
        self, now_ns: int | None = None, pid: int | None = None, fd: int | None = None
    ) -> None:
        """Write out aggregated I/O: windows older than ``now_ns``, or those of one process or
        descriptor (before it closes), or all of them (no argument)."""
        if not self.acc:
            return
        for key in list(self.acc):
            if pid is not None and (key[0] != pid or (fd is not None and key[1] != fd)):
                continue
            if now_ns is not None and now_ns - self.acc[key][0] < self.window_ns:  # type: ignore[operator]
                continue
            self._flush_key(key)


def _io_params(pid: int, fd: int, path: str, fkind: str, size: int, calls: int) -> list[Param]:
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
