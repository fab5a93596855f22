"""The plumbing of the record mapper: its state, pairing syscall entries with exits, process
lookup, paths and emitting events. The mapping mixins (`procmap`, `fdmap`, `netmap`, `iomap`)
build on it, and `mapper.Mapper` puts them together with the dispatch table.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kcap.model import Event, Param, Params, Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    HDR,
    I32S,
    O_CREAT,
    O_TRUNC,
    WORDS,
    Endpoint,
    MapperStats,
    P,
    cstr,
    s32,
    s64,
)
from kcap.sources.linux.procfs import FD_FILE, FdInfo, ProcInfo, read_process, socket_table
from kcap.sources.linux.taxonomy import ADDR, KINDS, PATH, PID, STR, U64, Clock, Kind, make_event

#: What maps one record: (buffer, offset, pid, tid, cpu, timestamp).
RecordHandler = Callable[[memoryview, int, int, int, int, int], None]


class MapperCore:
    """State and plumbing shared by the mapping mixins (see `mapper.Mapper`)."""

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
        #: records stamped after this monotonic time are ignored (set when the capture stops,
        #: because the programs are detached one by one and a late one would see half a story)
        self.cutoff_ns = 1 << 64
        #: aggregate reads and writes over this window (0: one event per system call)
        self.io_window_ns = 0
        self._io_acc: dict[tuple[int, int, int], list[object]] = {}
        self.pending: dict[int, tuple[int, tuple[object, ...]]] = {}
        self.exit_codes: dict[int, int] = {}
        # TCP tuples seen going ESTABLISHED, for filling in the local end of connect/accept
        self._client_local: dict[Endpoint, Endpoint] = {}
        self._server_local: dict[Endpoint, Endpoint] = {}
        self._want_thread = "thread" in kinds
        self._want_image = "image" in kinds
        self._want_file = "file" in kinds
        self._want_net = "net" in kinds
        self._want_handle = "handle" in kinds
        self._dispatch = self._dispatch_table()
        # tracepoints that share a kind share a record layout (checked by the tests)
        self._layouts: dict[int, K.Probe] = {}
        for probe in K.probe_table():
            self._layouts.setdefault(probe.kind, probe)

    def _dispatch_table(self) -> dict[int, RecordHandler]:
        """Record kind -> the method that maps it (`mapper.Mapper` fills it in)."""
        return {}

    if TYPE_CHECKING:
        # defined by one mapping mixin, used by another
        def flush_io(
            self, now_ns: int | None = None, pid: int | None = None, fd: int | None = None
        ) -> None: ...
        def _add_fd(
            self, info: ProcInfo, pid: int, tid: int, cpu: int, ts: int, fd: int, fdi: FdInfo
        ) -> None: ...
        def _drop_fd(
            self, info: ProcInfo, pid: int, tid: int, cpu: int, ts: int, fd: int
        ) -> None: ...
        def _net_event(
            self,
            info: ProcInfo,
            pid: int,
            tid: int,
            cpu: int,
            ts: int,
            fd: int,
            fdi: FdInfo,
            send: bool,
            size: int,
            peer: Endpoint | None,
            what: str | None = None,
        ) -> None: ...

    # ------------------------------------------------------------------ plumbing

    def handle(self, buf: memoryview, off: int, length: int) -> None:
        """Ring-buffer callback: one record at ``buf[off:off+length]``."""
        kind, cpu, pid_tgid, ts = HDR.unpack_from(buf, off)
        self.stats.records += 1
        if ts > self.cutoff_ns:
            return
        fn = self._dispatch.get(kind)
        if fn is None:
            return
        try:
            fn(buf, off, pid_tgid >> 32, pid_tgid & 0xFFFFFFFF, cpu, ts)
        except Exception as exc:  # one odd record must not end a capture of the whole machine
            self.stats.errors += 1
            if self.stats.first_error is None:
                self.stats.first_error = f"record kind {kind}: {type(exc).__name__}: {exc}"

    def _emit(self, ev: Event, state: bool = False) -> None:
        if not state and self.keep is not None and not self.keep(ev):
            self.stats.filtered += 1
            return
        self.stats.events += 1
        self.sink(ev)

    def _load_image(
        self, pid: int, tid: int, cpu: int, ts: int, path: str, base: int, size: int
    ) -> None:
        """A LoadImage event (state: replay adds the module to the process)."""
        if self._want_image:
            self._ev(
                KINDS["LoadImage"],
                pid,
                tid,
                cpu,
                ts,
                [
                    P("pid", PID, pid),
                    P("file_path", PATH, path),
                    P("base_address", ADDR, base),
                    P("image_size", U64, size),
                ],
                state=True,
            )

    def _ev(
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
        self._emit(ev, state)

    def proc(self, pid: int, cpu: int = 0, ts: int = 0) -> ProcInfo:
        """State of ``pid``; a process first seen now is read from /proc and announced with a
        ProcessRundown, so every event written has its process on replay."""
        info = self.procs.get(pid)
        if info is not None:
            return info
        info = read_process(pid, socket_table()) or ProcInfo(Process(pid=pid, name=""))
        self.procs[pid] = info
        p = info.process
        self._ev(
            KINDS["ProcessRundown"],
            pid,
            pid,
            cpu,
            ts,
            [
                P("pid", PID, pid),
                P("ppid", PID, p.ppid),
                P("name", STR, p.name),
                P("exe", STR, p.exe),
                P("cmdline", STR, p.cmdline),
            ],
            process=p,
            state=True,
        )
        return info

    def _slot_str(self, buf: memoryview, off: int, probe: K.Probe, i: int) -> str:
        n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
        soff, size = probe.slot_offsets()[i]
        return cstr(buf, off + soff, min(n, size))

    def _slot_bytes(self, buf: memoryview, off: int, probe: K.Probe, i: int) -> bytes:
        n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
        soff, size = probe.slot_offsets()[i]
        return bytes(buf[off + soff : off + soff + min(max(n, 0), size)])

    # ------------------------------------------------------------------ entries

    def _enter(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        """Remember the entry of a syscall whose exit decides what happened."""
        kind = HDR.unpack_from(buf, off)[0]
        probe = self._layouts[kind]
        words = WORDS[probe.nwords].unpack_from(buf, off + K.HEADER_SIZE)
        extra: tuple[object, ...]
        if kind == K.K_OPENAT:
            extra = (s32(words[0]), self._slot_str(buf, off, probe, 0), words[2])
        elif kind == K.K_OPEN:
            extra = (AT_FDCWD, self._slot_str(buf, off, probe, 0), words[1])
        elif kind == K.K_CREAT:
            extra = (AT_FDCWD, self._slot_str(buf, off, probe, 0), O_CREAT | O_TRUNC | 1)
        elif kind in (K.K_READ, K.K_WRITE):
            extra = (s32(words[0]),)
        elif kind in (K.K_UNLINK, K.K_RMDIR):
            extra = (AT_FDCWD, self._slot_str(buf, off, probe, 0), kind == K.K_RMDIR)
        elif kind == K.K_UNLINKAT:
            extra = (s32(words[0]), self._slot_str(buf, off, probe, 0), bool(words[2] & 0x200))
        elif kind == K.K_RENAME:
            extra = (
                AT_FDCWD,
                self._slot_str(buf, off, probe, 0),
                AT_FDCWD,
                self._slot_str(buf, off, probe, 1),
            )
        elif kind == K.K_RENAMEAT:
            extra = (
                s32(words[0]),
                self._slot_str(buf, off, probe, 0),
                s32(words[2]),
                self._slot_str(buf, off, probe, 1),
            )
        elif kind in (K.K_EXECVE, K.K_EXECVEAT):
            # execve(path, argv) has the path in word 0; execveat(dfd, path, argv) in word 1
            dfd = AT_FDCWD if kind == K.K_EXECVE else s32(words[0])
            filename = self._slot_str(buf, off, probe, 0)
            argv: list[str] = []
            for i in range(1, 1 + K.ARGV_MAX):
                n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
                if n <= 0:
                    break
                argv.append(self._slot_str(buf, off, probe, i))
            extra = (dfd, filename, argv)
            kind = K.K_EXECVE
        elif kind == K.K_CHDIR:
            extra = (self._slot_str(buf, off, probe, 0),)
        elif kind == K.K_FCHDIR:
            extra = (None, s32(words[0]))
        elif kind in (K.K_DUP, K.K_DUP1):
            extra = (s32(words[0]),)
            kind = K.K_DUP
        elif kind == K.K_SOCKET:
            extra = (words[0], words[1] & 0xF, words[2])
        elif kind == K.K_MMAP:
            extra = (words[1], words[2], s32(words[4]))
        elif kind == K.K_CONNECT or kind == K.K_SENDTO:
            extra = (s32(words[0]), self._slot_bytes(buf, off, probe, 0))
        else:  # accept, sendmsg, recvfrom, recvmsg: the fd is enough
            extra = (s32(words[0]),)
        self.pending[tid] = (kind, extra)

    def _take(self, tid: int, *kinds: int) -> tuple[object, ...] | None:
        entry = self.pending.pop(tid, None)
        if entry is None or entry[0] not in kinds:
            self.stats.unpaired += 1
            return None
        return entry[1]

    def _ret(self, buf: memoryview, off: int) -> int:
        return s64(WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0])

    # ------------------------------------------------------------------ paths

    def abspath(self, info: ProcInfo, dirfd: int, path: str) -> str:
        if path.startswith("/"):
            return posixpath.normpath(path)
        if dirfd == AT_FDCWD:
            base = info.process.cwd
        else:
            fdi = info.fds.get(dirfd)
            base = fdi.path if fdi is not None and fdi.kind == FD_FILE else ""
        if not base:
            return path
        return posixpath.normpath(posixpath.join(base, path)) if path else base

    # ------------------------------------------------------------------ loss

    def lost(self, count: int, total: int) -> None:
        """Record that the kernel dropped ``count`` records (``total`` so far)."""
        self._ev(
            KINDS["EventsLost"],
            0,
            0,
            0,
            time.monotonic_ns(),
            [P("count", U64, count), P("total", U64, total)],
            state=True,
        )
