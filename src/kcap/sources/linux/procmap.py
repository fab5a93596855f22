"""Process and thread lifecycle records: fork/clone, exec, exit, chdir (a `Mapper` mixin).

A fork emits ``CreateProcess`` from the parent, with the parent's state embedded; an exec emits
``CreateProcess`` again for the same pid with the new image, embedding the state before it
(docs/linux-capture.md). Exits close the process's descriptors and emit ``TerminateProcess``.
"""

from __future__ import annotations

import os
import posixpath

from kcap.model import Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.mapper_core import MapperCore
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    CLONE_PARENT,
    CLONE_THREAD,
    NULL_SID,
    O_CLOEXEC,
    WORDS,
    P,
    s32,
)
from kcap.sources.linux.procfs import ProcInfo, unix_sid
from kcap.sources.linux.taxonomy import KINDS, PID, SID, STR, TID, TIME, U32


class ProcessMapping(MapperCore):
    """Maps the records of process and thread lifecycles to events and process state."""

    def _newtask(self, buf: memoryview, off: int, pid: int, tid: int, cpu: int, ts: int) -> None:
        w = WORDS[4].unpack_from(buf, off + K.HEADER_SIZE)
        new = s32(w[0])
        flags = w[3]
        parent = self.proc(pid, cpu, ts)
        if flags & CLONE_THREAD:
            self._thread_event("CreateThread", pid, tid, cpu, ts, new)
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

    def _thread_event(self, name: str, pid: int, tid: int, cpu: int, ts: int, thread: int) -> None:
        """CreateThread / TerminateThread of ``thread`` (state: replay tracks the threads)."""
        if self._want_thread:
            self._ev(
                KINDS[name],
                pid,
                tid,
                cpu,
                ts,
                [P("pid", PID, pid), P("tid", TID, thread)],
                state=True,
            )

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
            self._thread_event("TerminateThread", pid, tid, cpu, ts, tid)
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
