"""Process and thread lifecycle records: fork/clone, exec, exit, chdir.

A fork emits ``CreateProcess`` from the parent, with the parent's state embedded; an exec emits
``CreateProcess`` again for the same pid with the new image, embedding the state before it
(docs/linux-capture.md). Exits close the process's descriptors and emit ``TerminateProcess``.
"""

from __future__ import annotations

from kcap.model import Process
from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.descriptors import Descriptors
from kcap.sources.linux.exe_resolve import ExecResolver
from kcap.sources.linux.iomap import FileIo
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    CLONE_PARENT,
    CLONE_THREAD,
    I32S,
    NULL_SID,
    O_CLOEXEC,
    WORDS,
    P,
    s32,
)
from kcap.sources.linux.procfs import ProcInfo, fileless_meta, unix_sid
from kcap.sources.linux.taxonomy import KINDS, PID, SID, STR, TID, TIME, U32


class ProcessRecords:
    """Maps the records of process and thread lifecycles to events and process state."""

    def __init__(self, ctx: MappingContext, descriptors: Descriptors, io: FileIo) -> None:
        self.ctx = ctx
        self.descriptors = descriptors
        self.io = io
        self.exec_resolver = ExecResolver(ctx.procs, ctx.abspath)

    def newtask(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        rec = ctx.rec
        w = WORDS[4].unpack_from(buf, off + K.HEADER_SIZE)
        new = s32(w[0])
        flags = w[3]
        parent = ctx.proc(rec.pid)
        if flags & CLONE_THREAD:
            self._thread_event("CreateThread", new)
            return
        ppid = parent.process.ppid if flags & CLONE_PARENT else rec.pid
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
            start_time=ctx.clock.stamp(rec.ts),
            username=pp.username,
        )
        info = ProcInfo(child, dict(parent.fds), parent.uid)
        ctx.procs[new] = info
        self._create_process(info, pp, "fork")

    def _thread_event(self, name: str, thread: int) -> None:
        """CreateThread / TerminateThread of ``thread`` (state: replay tracks the threads)."""
        ctx = self.ctx
        if ctx.want_thread:
            ctx.event(
                KINDS[name],
                [P("pid", PID, ctx.rec.pid), P("tid", TID, thread)],
                state=True,
            )

    def _create_process(self, info: ProcInfo, creator: Process, origin: str) -> None:
        p = info.process
        meta = [("linux.origin", origin), *(fileless_meta(p.exe) or ())]
        self.ctx.event(
            KINDS["CreateProcess"],
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
            meta=meta,
            state=True,
        )

    def exec_seen(self, buf: memoryview, off: int) -> None:
        """sched_process_exec: the exec succeeded; the kernel's copy of the file name.

        It comes in the new program's thread, which is the process's main thread even when
        another thread called exec: the entry waiting under the old thread id moves there.
        """
        ctx = self.ctx
        probe = ctx.layouts[K.K_EXEC_SEEN]
        old_tid = s32(WORDS[2].unpack_from(buf, off + K.HEADER_SIZE)[1])
        kname = ctx.slot_str(buf, off, probe, 0)
        entry = ctx.pending.pop(old_tid, None)
        if entry is not None and entry[0] == K.K_EXECVE:
            dfd, filename, argv, flags, _ = entry[1]
            ctx.pending[ctx.rec.tid] = (K.K_EXECVE, (dfd, filename, argv, flags, kname))
        else:  # the entry was not seen (exec started before the capture, or lost)
            ctx.pending[ctx.rec.tid] = (K.K_EXECVE, (AT_FDCWD, kname, [], 0, kname))

    def execve_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_EXECVE)
        if entry is None or ctx.ret(buf, off) != 0:
            return
        dfd, filename, argv, flags, kname = entry
        assert isinstance(dfd, int) and isinstance(filename, str) and isinstance(argv, list)
        assert isinstance(flags, int)
        pid = ctx.rec.pid
        info = ctx.proc(pid)
        old = info.process
        # The argv the new program got, read at exit from its stack (a script's starts with
        # its interpreter); the one given to exec when that could not be read.
        new_argv = self._exit_argv(buf, off) or list(argv)
        # The kernel's copy of the name is complete even when the user's could not be read;
        # for fexecve it is /dev/fd/N, which resolves the same way.
        path = kname if isinstance(kname, str) and kname else filename
        exe = self.exec_resolver.resolve(pid, ctx.rec.tid, info, dfd, path, flags, new_argv)
        new = Process(
            pid=pid,
            ppid=old.ppid,
            name=exe.name,
            cmdline=" ".join(new_argv),
            exe=exe.exe,
            cwd=old.cwd,
            sid=old.sid,
            args=new_argv,
            session_id=old.session_id,
            start_time=old.start_time,
            username=old.username,
        )
        info.process = new
        self._create_process(info, old, "exec")
        # descriptors opened with O_CLOEXEC are closed by the exec
        for fd in [fd for fd, f in info.fds.items() if f.flags & O_CLOEXEC]:
            self.descriptors.drop(info, fd)
        ctx.load_image(exe.exe, 0, 0)

    def _exit_argv(self, buf: memoryview, off: int) -> list[str]:
        ctx = self.ctx
        probe = ctx.layouts[K.K_EXECVE_RET]
        out: list[str] = []
        for i in range(K.ARGV_MAX):
            if I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0] <= 0:
                break
            out.append(ctx.slot_str(buf, off, probe, i))
        return out

    def exit_group(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        ctx.exit_codes[ctx.rec.pid] = WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0] & 0xFF

    def exit(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        pid, tid = ctx.rec.pid, ctx.rec.tid
        w = WORDS[4].unpack_from(buf, off + K.HEADER_SIZE)
        group_dead = w[3] & 0xFF
        ctx.pending.pop(tid, None)
        if not group_dead:
            if ctx.want_thread:
                ctx.proc(pid)  # announce a process not seen yet, so replay has it
            self._thread_event("TerminateThread", tid)
            return
        info = ctx.procs.get(pid)
        if info is None:
            return
        if self.io.acc:
            self.io.flush(pid=pid)
        for fd in list(info.fds):
            self.descriptors.drop(info, fd)
        p = info.process
        params = [
            P("pid", PID, pid),
            P("ppid", PID, p.ppid),
            P("name", STR, p.name),
            P("exe", STR, p.exe),
            P("cmdline", STR, p.cmdline),
        ]
        code = ctx.exit_codes.pop(pid, None)
        if code is not None:
            params.append(P("exit_status", U32, code))
        ctx.event(KINDS["TerminateProcess"], params, state=True)
        del ctx.procs[pid]

    def chdir_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_CHDIR, K.K_FCHDIR)
        if entry is None or ctx.ret(buf, off) != 0:
            return
        info = ctx.proc(ctx.rec.pid)
        if entry[0] is None:
            fdi = info.fds.get(int(entry[1]))  # type: ignore[call-overload]
            if fdi is not None:
                info.process.cwd = fdi.path
        else:
            info.process.cwd = ctx.abspath(info, AT_FDCWD, str(entry[0]))
