"""What every record handler of the mapper shares: the record being mapped and the state.

`MappingContext` holds the state the handlers build on (processes and their descriptor tables,
entries waiting for their exit, statistics) and the plumbing they all use: the current
`RecordContext` (pid, tid, cpu, time of the record being mapped), event output, process
lookup, path resolution and reading a record's slots. The handler objects (`procmap`,
`descriptors`, `fdmap`, `netmap`, `iomap`) each take the context and the few other handlers
they call; `mapper.Mapper` composes them and routes records to them (docs/linux-capture.md,
"Mapping").
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable

from kcap.model import Event, Param, Params, Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    I32S,
    WORDS,
    Endpoint,
    MapperStats,
    P,
    s64,
)
from kcap.sources.linux.procfs import (
    FD_FILE,
    ProcInfo,
    fileless_meta,
    read_process,
    socket_table,
)
from kcap.sources.linux.taxonomy import ADDR, KINDS, PATH, PID, STR, U64, Clock, Kind, make_event

#: What maps one record: (buffer, offset of the record). The record's pid, tid, cpu and time
#: are in the context's `RecordContext` while it runs.
RecordHandler = Callable[[memoryview, int], None]


class RecordContext:
    """The record being mapped: its process and thread, CPU and monotonic time (ns)."""

    __slots__ = ("cpu", "kind", "pid", "tid", "ts")

    def __init__(self) -> None:
        self.kind = 0
        self.pid = 0
        self.tid = 0
        self.cpu = 0
        self.ts = 0


class MappingContext:
    """State and plumbing shared by the record handlers (see `mapper.Mapper`)."""

    def __init__(
        self,
        *,
        procs: dict[int, ProcInfo],
        clock: Clock,
        host: str,
        kinds: frozenset[str],
        sink: Callable[[Event], None],
        keep: Callable[[Event], bool] | None = None,
    ) -> None:
        self.procs = procs
        self.clock = clock
        self.host = host
        self.kinds = kinds
        self.sink = sink
        self.keep = keep
        self.stats = MapperStats()
        self.rec = RecordContext()
        #: syscall entries waiting for their exit, by thread: (kind, what the exit needs)
        self.pending: dict[int, tuple[int, tuple[object, ...]]] = {}
        #: exit records that found no entry, by record kind (see `loss`)
        self.unpaired: dict[int, int] = {}
        #: exit_group codes waiting for the process's last thread to exit
        self.exit_codes: dict[int, int] = {}
        # TCP tuples seen going ESTABLISHED, for filling in the local end of connect/accept
        self.client_local: dict[Endpoint, Endpoint] = {}
        self.server_local: dict[Endpoint, Endpoint] = {}
        self.want_thread = "thread" in kinds
        self.want_image = "image" in kinds
        self.want_file = "file" in kinds
        self.want_net = "net" in kinds
        self.want_handle = "handle" in kinds
        # tracepoints that share a kind share a record layout (checked by the tests)
        self.layouts: dict[int, K.Probe] = {}
        for probe in K.probe_table():
            self.layouts.setdefault(probe.kind, probe)

    # ------------------------------------------------------------------ events

    def emit(self, ev: Event, state: bool = False) -> None:
        if not state and self.keep is not None and not self.keep(ev):
            self.stats.filtered += 1
            return
        self.stats.events += 1
        self.sink(ev)

    def event(
        self,
        kind: Kind,
        params: list[Param] | Params,
        process: Process | None = None,
        meta: list[tuple[str, str]] | None = None,
        state: bool = False,
    ) -> None:
        """An event of the current record's process and thread, at its time."""
        rec = self.rec
        pid = rec.pid
        ev = make_event(
            kind, pid, rec.tid, rec.cpu, self.clock.stamp(rec.ts), self.host, params, process, meta
        )
        if process is None:
            info = self.procs.get(pid)
            if info is not None:
                ev.ps = info.process
        self.emit(ev, state)

    def event_at(
        self,
        kind: Kind,
        pid: int,
        tid: int,
        cpu: int,
        ts: int,
        params: list[Param] | Params,
        process: Process | None = None,
        meta: list[tuple[str, str]] | None = None,
        state: bool = False,
    ) -> None:
        info = self.procs.get(pid)
        ev = make_event(kind, pid, tid, cpu, self.clock.stamp(ts), self.host, params, process, meta)
        if process is None and info is not None:
            ev.ps = info.process
        self.emit(ev, state)

    def load_image(self, path: str, base: int, size: int) -> None:
        """A LoadImage event (state: replay adds the module to the process)."""
        if self.want_image:
            self.event(
                KINDS["LoadImage"],
                [
                    P("pid", PID, self.rec.pid),
                    P("file_path", PATH, path),
                    P("base_address", ADDR, base),
                    P("image_size", U64, size),
                ],
                state=True,
            )

    def lost(self, event: str, count: int, total: int) -> None:
        """An EventsLost: ``count`` events named ``event`` were lost (``total`` so far)."""
        self.event_at(
            KINDS["EventsLost"],
            0,
            0,
            0,
            time.monotonic_ns(),
            [P("event", STR, event), P("count", U64, count), P("total", U64, total)],
            state=True,
        )

    # ------------------------------------------------------------------ processes

    def proc(self, pid: int) -> ProcInfo:
        """State of ``pid``; a process first seen now is read from /proc and announced with a
        ProcessRundown (at the current record's time), so every event written has its process
        on replay."""
        info = self.procs.get(pid)
        if info is not None:
            return info
        info = read_process(pid, socket_table()) or ProcInfo(Process(pid=pid, name=""))
        self.procs[pid] = info
        p = info.process
        rec = self.rec
        self.event_at(
            KINDS["ProcessRundown"],
            pid,
            pid,
            rec.cpu,
            rec.ts,
            [
                P("pid", PID, pid),
                P("ppid", PID, p.ppid),
                P("name", STR, p.name),
                P("exe", STR, p.exe),
                P("cmdline", STR, p.cmdline),
            ],
            process=p,
            meta=fileless_meta(p.exe),
            state=True,
        )
        return info

    def abspath(self, info: ProcInfo, dirfd: int, path: str) -> str:
        """``path`` made absolute against the process's cwd or the directory ``dirfd`` names."""
        if path.startswith("/"):
            # most paths are already normal; normpath costs more than the rest of an open
            if "//" in path or "/." in path or (path.endswith("/") and len(path) > 1):
                return posixpath.normpath(path)
            return path
        if dirfd == AT_FDCWD:
            base = info.process.cwd
        else:
            fdi = info.fds.get(dirfd)
            base = fdi.path if fdi is not None and fdi.kind == FD_FILE else ""
        if not base:
            return path
        return posixpath.normpath(posixpath.join(base, path)) if path else base

    # ------------------------------------------------------------------ record contents

    def slot_str(self, buf: memoryview, off: int, probe: K.Probe, i: int) -> str:
        n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
        if n <= 1:
            return ""
        soff, size = probe.slot_offsets()[i]
        start = off + soff
        # n counts the NUL the helper copied
        return str(buf[start : start + min(n, size) - 1], "utf-8", "surrogateescape")

    def slot_bytes(self, buf: memoryview, off: int, probe: K.Probe, i: int) -> bytes:
        n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
        soff, size = probe.slot_offsets()[i]
        return bytes(buf[off + soff : off + soff + min(max(n, 0), size)])

    def ret(self, buf: memoryview, off: int) -> int:
        """The return value of a syscall-exit record."""
        return s64(WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0])

    def take(self, tid: int, *kinds: int) -> tuple[object, ...] | None:
        """The entry of one of ``kinds`` that thread ``tid`` left pending, if any."""
        entry = self.pending.pop(tid, None)
        if entry is None or entry[0] not in kinds:
            self.count_unpaired()
            return None
        return entry[1]

    def count_unpaired(self) -> None:
        """The current record is an exit whose entry was not seen."""
        self.stats.unpaired += 1
        kind = self.rec.kind
        self.unpaired[kind] = self.unpaired.get(kind, 0) + 1
