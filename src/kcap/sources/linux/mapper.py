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

import os
import posixpath
import time
from collections.abc import Callable

from kcap.model import Event, Param, Params, Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.iomap import FileIoMapping
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    CLONE_PARENT,
    CLONE_THREAD,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    FAMILY_NAMES,
    HDR,
    I32S,
    NULL_SID,
    O_CLOEXEC,
    O_CREAT,
    O_TRUNC,
    PROT_EXEC,
    TYPE_NAMES,
    WORDS,
    Endpoint,
    MapperStats,
    P,
    cstr,
    disposition,
    parse_sockaddr,
    s32,
    s64,
    shared_params,
    status_text,
)
from kcap.sources.linux.netmap import NetworkMapping
from kcap.sources.linux.procfs import (
    FD_FILE,
    FD_SOCKET,
    FdInfo,
    ProcInfo,
    handle_key,
    read_process,
    socket_table,
    unix_sid,
)
from kcap.sources.linux.taxonomy import (
    ADDR,
    I32,
    KINDS,
    PATH,
    PID,
    SID,
    STR,
    TID,
    TIME,
    U32,
    U64,
    Clock,
    Kind,
    make_event,
)

__all__ = ["AT_FDCWD", "Mapper", "MapperStats", "P", "parse_sockaddr", "shared_params"]


class Mapper(NetworkMapping, FileIoMapping):
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

    # ------------------------------------------------------------------ processes and threads

    def _newtask(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        w = WORDS[4].unpack_from(buf, off + K.HEADER_SIZE)
        new = s32(w[0])
        flags = w[3]
        parent = self.proc(pid, cpu, ts)
        if flags & CLONE_THREAD:
            if self._want_thread:
                self._ev(
                    KINDS["CreateThread"],
                    pid,
                    tid,
                    cpu,
                    ts,
                    [P("pid", PID, pid), P("tid", TID, new)],
                    state=True,
                )
            return
        ppid = parent.process.ppid if flags & CLONE_PARENT else pid
        pp = parent.process
        child = Process(
            pid=new,
            ppid=ppid,
            name=pp.name,
            cmdline=pp.cmdline,
            exe=pp.exe,
            cwd=pp.cwd,
            sid=pp.sid,
            args=pp.args,
            session_id=pp.session_id,
            envs=pp.envs,
            start_time=self.clock.stamp(ts),
            username=pp.username,
        )
        info = ProcInfo(child, dict(parent.fds), parent.uid)
        self.procs[new] = info
        self._create_process(info, pid, tid, cpu, ts, pp, "fork")

    def _create_process(
        self,
        info: ProcInfo,
        pid: int,
        tid: int,
        cpu: int,
        ts: int,
        creator: Process,
        origin: str,
    ) -> None:
        p = info.process
        self._ev(
            KINDS["CreateProcess"],
            pid,
            tid,
            cpu,
            ts,
            [
                P("pid", PID, p.pid),
                P("ppid", PID, p.ppid),
                P("name", STR, p.name),
                P("cmdline", STR, p.cmdline),
                P("exe", STR, p.exe),
                P("start_time", TIME, p.start_time),
                P("sid", SID, unix_sid(info.uid) or NULL_SID),
                P("username", STR, p.username),
                P("session_id", U32, p.session_id),
                P("flags", U32, 0),
            ],
            process=creator,
            meta=[("linux.origin", origin)],
            state=True,
        )

    def _execve_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_EXECVE)
        if entry is None or self._ret(buf, off) != 0:
            return
        dfd, filename, argv = entry
        assert isinstance(dfd, int) and isinstance(filename, str) and isinstance(argv, list)
        info = self.proc(pid, cpu, ts)
        old = info.process
        # Resolve symlinks (/bin/true -> /usr/bin/true) so the path matches what /proc/PID/exe
        # gives for processes of the snapshot; keep the given path if it cannot be resolved.
        given = self.abspath(info, dfd, filename)
        exe = os.path.realpath(given) if given.startswith("/") else given
        new = Process(
            pid=pid,
            ppid=old.ppid,
            name=posixpath.basename(exe),
            cmdline=" ".join(argv),
            exe=exe,
            cwd=old.cwd,
            sid=old.sid,
            args=list(argv),
            session_id=old.session_id,
            start_time=old.start_time,
            username=old.username,
        )
        info.process = new
        self._create_process(info, pid, tid, cpu, ts, old, "exec")
        # descriptors opened with O_CLOEXEC are closed by the exec
        for fd in [fd for fd, f in info.fds.items() if f.flags & O_CLOEXEC]:
            self._drop_fd(info, pid, tid, cpu, ts, fd)
        self._load_image(pid, tid, cpu, ts, exe, 0, 0)

    def _exit_group(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        self.exit_codes[pid] = WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0] & 0xFF

    def _exit(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        w = WORDS[4].unpack_from(buf, off + K.HEADER_SIZE)
        group_dead = w[3] & 0xFF
        self.pending.pop(tid, None)
        if not group_dead:
            if self._want_thread:
                self.proc(pid, cpu, ts)  # announce a process not seen yet, so replay has it
                self._ev(
                    KINDS["TerminateThread"],
                    pid,
                    tid,
                    cpu,
                    ts,
                    [P("pid", PID, pid), P("tid", TID, tid)],
                    state=True,
                )
            return
        info = self.procs.get(pid)
        if info is None:
            return
        if self._io_acc:
            self.flush_io(pid=pid)
        for fd in list(info.fds):
            self._drop_fd(info, pid, tid, cpu, ts, fd)
        p = info.process
        params = [
            P("pid", PID, pid),
            P("ppid", PID, p.ppid),
            P("name", STR, p.name),
            P("exe", STR, p.exe),
            P("cmdline", STR, p.cmdline),
        ]
        code = self.exit_codes.pop(pid, None)
        if code is not None:
            params.append(P("exit_status", U32, code))
        self._ev(KINDS["TerminateProcess"], pid, tid, cpu, ts, params, state=True)
        del self.procs[pid]

    def _chdir_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_CHDIR, K.K_FCHDIR)
        if entry is None or self._ret(buf, off) != 0:
            return
        info = self.proc(pid, cpu, ts)
        if entry[0] is None:
            fdi = info.fds.get(int(entry[1]))  # type: ignore[call-overload]
            if fdi is not None:
                info.process.cwd = fdi.path
        else:
            info.process.cwd = self.abspath(info, AT_FDCWD, str(entry[0]))

    # ------------------------------------------------------------------ descriptors

    def _add_fd(
        self, info: ProcInfo, pid: int, tid: int, cpu: int, ts: int, fd: int, fdi: FdInfo
    ) -> None:
        if fd in info.fds:
            self._drop_fd(info, pid, tid, cpu, ts, fd)
        info.fds[fd] = fdi
        if self._want_handle:
            self._handle_event("CreateHandle", pid, tid, cpu, ts, fd, fdi)

    def _drop_fd(self, info: ProcInfo, pid: int, tid: int, cpu: int, ts: int, fd: int) -> None:
        fdi = info.fds.pop(fd, None)
        if fdi is not None and self._want_handle:
            self._handle_event("CloseHandle", pid, tid, cpu, ts, fd, fdi)

    def _handle_event(
        self, name: str, pid: int, tid: int, cpu: int, ts: int, fd: int, fdi: FdInfo
    ) -> None:
        """CreateHandle / CloseHandle for a descriptor (state: replay tracks the handles)."""
        self._ev(
            KINDS[name],
            pid,
            tid,
            cpu,
            ts,
            shared_params((name, pid, fd, fdi.path, fdi.kind), _handle_params(pid, fd, fdi)),
            state=True,
        )

    def _open_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_OPENAT, K.K_OPEN, K.K_CREAT)
        if entry is None:
            return
        dfd, path, flags = entry
        assert isinstance(dfd, int) and isinstance(path, str) and isinstance(flags, int)
        ret = self._ret(buf, off)
        info = self.proc(pid, cpu, ts)
        full = self.abspath(info, dfd, path)
        if self._want_file:
            self._ev(
                KINDS["CreateFile"],
                pid,
                tid,
                cpu,
                ts,
                shared_params(
                    ("CreateFile", pid, full, ret, flags),
                    lambda: [
                        P("pid", PID, pid),
                        P("file_path", PATH, full),
                        P("file_object", U64, handle_key(pid, ret) if ret >= 0 else 0),
                        P("fd", I32, ret if ret >= 0 else -1),
                        P("flags", U32, flags & 0xFFFFFFFF),
                        P("create_disposition", STR, disposition(flags)),
                        P("status", STR, status_text(ret)),
                    ],
                ),
            )
        if ret >= 0:
            self._add_fd(info, pid, tid, cpu, ts, ret, FdInfo(FD_FILE, full, flags))

    def _close(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        fd = s32(WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0])
        info = self.procs.get(pid)
        if info is None:
            return
        fdi = info.fds.get(fd)
        if fdi is None:
            return
        if self._io_acc:
            self.flush_io(pid=pid, fd=fd)
        if self._want_file and fdi.kind == FD_FILE:
            self._ev(
                KINDS["CloseFile"],
                pid,
                tid,
                cpu,
                ts,
                shared_params(
                    ("CloseFile", pid, fdi.path, fd),
                    lambda: [
                        P("pid", PID, pid),
                        P("file_path", PATH, fdi.path),
                        P("file_object", U64, handle_key(pid, fd)),
                        P("fd", I32, fd),
                    ],
                ),
            )
        self._drop_fd(info, pid, tid, cpu, ts, fd)

    def _fcntl(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        fd, cmd = WORDS[2].unpack_from(buf, off + K.HEADER_SIZE)
        if cmd & 0xFFFFFFFF in (F_DUPFD, F_DUPFD_CLOEXEC):
            self.pending[tid] = (K.K_DUP, (s32(fd),))
        else:
            self.pending.pop(tid, None)

    def _dup_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_DUP)
        ret = self._ret(buf, off)
        if entry is None or ret < 0:
            return
        info = self.proc(pid, cpu, ts)
        src = info.fds.get(int(entry[0]))  # type: ignore[call-overload]
        if src is None:
            return
        copy = FdInfo(
            src.kind,
            src.path,
            src.flags & ~O_CLOEXEC,
            src.family,
            src.sock_type,
            src.local,
            src.remote,
            src.inode,
        )
        self._add_fd(info, pid, tid, cpu, ts, ret, copy)

    def _socket_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_SOCKET)
        ret = self._ret(buf, off)
        if entry is None or ret < 0:
            return
        family, stype, _proto = entry
        assert isinstance(family, int) and isinstance(stype, int)
        info = self.proc(pid, cpu, ts)
        name = FAMILY_NAMES.get(family, "socket")
        proto = TYPE_NAMES.get(stype, "raw")
        fdi = FdInfo(FD_SOCKET, f"{name} {proto}", 0, family, stype)
        self._add_fd(info, pid, tid, cpu, ts, ret, fdi)

    def _mmap_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_MMAP)
        if entry is None:
            return
        length, prot, fd = entry
        assert isinstance(length, int) and isinstance(prot, int) and isinstance(fd, int)
        ret = self._ret(buf, off)
        if not prot & PROT_EXEC or fd < 0 or -4096 < ret < 0:
            return
        info = self.proc(pid, cpu, ts)
        fdi = info.fds.get(fd)
        path = fdi.path if fdi is not None else ""
        self._load_image(pid, tid, cpu, ts, path, ret & 0xFFFFFFFFFFFFFFFF, length)

    # ------------------------------------------------------------------ file names

    def _unlink_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_UNLINK, K.K_UNLINKAT, K.K_RMDIR)
        if entry is None:
            return
        dfd, path, is_dir = entry
        assert isinstance(dfd, int) and isinstance(path, str)
        ret = self._ret(buf, off)
        info = self.proc(pid, cpu, ts)
        if self._want_file:
            self._ev(
                KINDS["DeleteFile"],
                pid,
                tid,
                cpu,
                ts,
                [
                    P("pid", PID, pid),
                    P("file_path", PATH, self.abspath(info, dfd, path)),
                    P("type", STR, "Directory" if is_dir else "File"),
                    P("status", STR, status_text(ret)),
                ],
            )

    def _rename_ret(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        entry = self._take(tid, K.K_RENAME, K.K_RENAMEAT)
        if entry is None:
            return
        odfd, old, ndfd, new = entry
        assert isinstance(odfd, int) and isinstance(ndfd, int)
        ret = self._ret(buf, off)
        info = self.proc(pid, cpu, ts)
        if self._want_file:
            self._ev(
                KINDS["RenameFile"],
                pid,
                tid,
                cpu,
                ts,
                [
                    P("pid", PID, pid),
                    P("file_path", PATH, self.abspath(info, odfd, str(old))),
                    P("new_file_path", PATH, self.abspath(info, ndfd, str(new))),
                    P("status", STR, status_text(ret)),
                ],
            )

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


def _handle_params(pid: int, fd: int, fdi: FdInfo) -> Callable[[], list[Param]]:
    return lambda: [
        P("pid", PID, pid),
        P("handle_id", U32, fd),
        P("handle_object", U64, handle_key(pid, fd)),
        P("handle_name", STR, fdi.path),
        P("type_id", STR, fdi.kind),
    ]
