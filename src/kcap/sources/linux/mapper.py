"""From kernel records to events: pairing syscall entries with exits and keeping the state.

The eBPF programs (`probes.py`) send raw records: syscall arguments at entry, the return value
at exit, strings and socket addresses read from user memory. This module pairs each exit with
the entry of the same thread, keeps per-process state (image, cwd, descriptor table), turns
relative paths absolute, and emits events of the shared taxonomy.

Conventions (documented in docs/linux-capture.md):

* A fork emits ``CreateProcess`` from the parent (its state is the embedded "creator" state);
  an exec emits ``CreateProcess`` again for the same pid with the new image, embedding the state
  before the exec. Replay keeps the latest, so the process tree and names come out right.
* Descriptors are handles: ``handle_id`` = fd, ``handle_object`` = ``pid << 32 | fd``.
* Network events carry ``sip``/``sport`` = local end and ``dip``/``dport`` = remote end.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable

from kcap.model import Event, Param, Params, Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.fdmap import DescriptorMapping
from kcap.sources.linux.iomap import FileIoMapping
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
    parse_sockaddr,
    s32,
    s64,
    shared_params,
)
from kcap.sources.linux.netmap import NetworkMapping
from kcap.sources.linux.procfs import (
    FD_FILE,
    ProcInfo,
    read_process,
    socket_table,
)
from kcap.sources.linux.procmap import ProcessMapping
from kcap.sources.linux.taxonomy import (
    ADDR,
    KINDS,
    PATH,
    PID,
    STR,
    U64,
    Clock,
    Kind,
    make_event,
)

__all__ = ["AT_FDCWD", "Mapper", "MapperStats", "P", "parse_sockaddr", "shared_params"]


class Mapper(ProcessMapping, DescriptorMapping, NetworkMapping, FileIoMapping):
    """Consumes ring-buffer records, emits `Event`s through ``sink``."""

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
        self._dispatch: dict[int, Callable[[memoryview, int, int, int, int, int], None]] = {
            K.K_NEWTASK: self._newtask,
            K.K_EXIT: self._exit,
            K.K_EXECVE: self._enter,
            K.K_EXECVEAT: self._enter,
            K.K_CREAT: self._enter,
            K.K_DUP1: self._enter,
            K.K_FCNTL: self._fcntl,
            K.K_EXECVE_RET: self._execve_ret,
            K.K_EXIT_GROUP: self._exit_group,
            K.K_CHDIR: self._enter,
            K.K_FCHDIR: self._enter,
            K.K_CHDIR_RET: self._chdir_ret,
            K.K_OPENAT: self._enter,
            K.K_OPEN: self._enter,
            K.K_OPEN_RET: self._open_ret,
            K.K_CLOSE: self._close,
            K.K_DUP: self._enter,
            K.K_DUP_RET: self._dup_ret,
            K.K_SOCKET: self._enter,
            K.K_SOCKET_RET: self._socket_ret,
            K.K_MMAP: self._enter,
            K.K_MMAP_RET: self._mmap_ret,
            K.K_READ: self._enter,
            K.K_READ_RET: self._io_ret,
            K.K_WRITE: self._enter,
            K.K_WRITE_RET: self._io_ret,
            K.K_UNLINK: self._enter,
            K.K_UNLINKAT: self._enter,
            K.K_RMDIR: self._enter,
            K.K_UNLINK_RET: self._unlink_ret,
            K.K_RENAME: self._enter,
            K.K_RENAMEAT: self._enter,
            K.K_RENAME_RET: self._rename_ret,
            K.K_CONNECT: self._enter,
            K.K_CONNECT_RET: self._connect_ret,
            K.K_BIND: self._bind,
            K.K_ACCEPT: self._enter,
            K.K_ACCEPT_RET: self._accept_ret,
            K.K_SENDTO: self._enter,
            K.K_SENDMSG: self._enter,
            K.K_SEND_RET: self._net_io_ret,
            K.K_RECVFROM: self._enter,
            K.K_RECVMSG: self._enter,
            K.K_RECV_RET: self._net_io_ret,
            K.K_RECVMSG_RET: self._net_io_ret,
            K.K_TCP_STATE: self._tcp_state,
        }
        # tracepoints that share a kind share a record layout (checked by the tests)
        self._layouts: dict[int, K.Probe] = {}
        for probe in K.probe_table():
            self._layouts.setdefault(probe.kind, probe)

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
