"""Descriptor and file-name records: open, close, dup, fcntl, socket, mmap, unlink, rename
(a `Mapper` mixin).

Descriptors are handles: each open or close also emits ``CreateHandle``/``CloseHandle`` with
``handle_id`` = fd and ``handle_object`` = ``pid << 32 | fd``, which replay tracks as state.
"""

from __future__ import annotations

from collections.abc import Callable

from kcap.model import Param
from kcap.sources.linux import probes as K
from kcap.sources.linux.mapper_core import MapperCore
from kcap.sources.linux.mapping_base import (
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    FAMILY_NAMES,
    O_CLOEXEC,
    PROT_EXEC,
    TYPE_NAMES,
    WORDS,
    P,
    disposition,
    s32,
    shared_params,
    status_text,
)
from kcap.sources.linux.procfs import FD_FILE, FD_SOCKET, FdInfo, ProcInfo, handle_key
from kcap.sources.linux.taxonomy import I32, KINDS, PATH, PID, STR, U32, U64


class DescriptorMapping(MapperCore):
    """Maps descriptor and file-name records to events and the descriptor table."""

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


def _handle_params(pid: int, fd: int, fdi: FdInfo) -> Callable[[], list[Param]]:
    return lambda: [
        P("pid", PID, pid),
        P("handle_id", U32, fd),
        P("handle_object", U64, handle_key(pid, fd)),
        P("handle_name", STR, fdi.path),
        P("type_id", STR, fdi.kind),
    ]
