"""Descriptor and file-name records: open, close, dup, fcntl, socket, mmap, unlink, rename.

Descriptors that appear or go pass through `descriptors.Descriptors`, which keeps the table and
emits the handle events; this module adds the file events (``CreateFile``, ``CloseFile``,
``DeleteFile``, ``RenameFile``) and the executable mappings (``LoadImage``).
"""

from __future__ import annotations

from kcap.model import Param
from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.descriptors import Descriptors
from kcap.sources.linux.iomap import FileIo
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
    s64,
    shared_params,
    status_text,
)
from kcap.sources.linux.procfs import (
    DELETED,
    FD_FILE,
    FD_SOCKET,
    MEMFD_PREFIX,
    FdInfo,
    handle_key,
)
from kcap.sources.linux.taxonomy import I32, KINDS, PATH, PID, STR, U32, U64

MFD_CLOEXEC = 1


class FileRecords:
    """Maps descriptor and file-name records to events and the descriptor table."""

    def __init__(self, ctx: MappingContext, descriptors: Descriptors, io: FileIo) -> None:
        self.ctx = ctx
        self.descriptors = descriptors
        self.io = io

    def open_ret(self, buf: memoryview, off: int) -> None:
        """The exit of open, creat, openat2, whose entry left the path and flags pending."""
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_OPENAT, K.K_OPEN, K.K_CREAT)
        if entry is None:
            return
        dfd, path, flags = entry
        assert isinstance(dfd, int) and isinstance(path, str) and isinstance(flags, int)
        self._opened(dfd, path, flags, ctx.ret(buf, off))

    def openat_ret(self, buf: memoryview, off: int) -> None:
        """The exit of openat: one record with the result, the dirfd (plus one; 0 when the
        entry was not seen) and flags the entry remembered, and the path read at the exit."""
        ctx = self.ctx
        raw_ret, saved_dfd, flags = WORDS[3].unpack_from(buf, off + K.HEADER_SIZE)
        if saved_dfd == 0:
            ctx.count_unpaired()
            return
        path = ctx.slot_str(buf, off, ctx.layouts[K.K_OPENAT_RET], 0)
        self._opened(s32(saved_dfd - 1), path, flags, s64(raw_ret))

    def _opened(self, dfd: int, path: str, flags: int, ret: int) -> None:
        ctx = self.ctx
        pid = ctx.rec.pid
        info = ctx.proc(pid)
        full = ctx.abspath(info, dfd, path)
        if ctx.want_file:
            ctx.event(
                KINDS["CreateFile"],
                shared_params(
                    ("CreateFile", pid, full, ret, flags), _create_file, pid, full, ret, flags
                ),
            )
        if ret >= 0:
            self.descriptors.add(info, ret, FdInfo(FD_FILE, full, flags))

    def close(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        fd = s32(WORDS[1].unpack_from(buf, off + K.HEADER_SIZE)[0])
        pid = ctx.rec.pid
        info = ctx.procs.get(pid)
        if info is None:
            return
        fdi = info.fds.get(fd)
        if fdi is None:
            return
        if self.io.acc:
            self.io.flush(pid=pid, fd=fd)
        if ctx.want_file and fdi.kind == FD_FILE:
            ctx.event(
                KINDS["CloseFile"],
                shared_params(("CloseFile", pid, fdi.path, fd), _close_file, pid, fdi.path, fd),
            )
        self.descriptors.drop(info, fd)

    def fcntl(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        fd, cmd = WORDS[2].unpack_from(buf, off + K.HEADER_SIZE)
        if cmd & 0xFFFFFFFF in (F_DUPFD, F_DUPFD_CLOEXEC):
            ctx.pending[ctx.rec.tid] = (K.K_DUP, (s32(fd),))
        else:
            ctx.pending.pop(ctx.rec.tid, None)

    def dup_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_DUP)
        ret = ctx.ret(buf, off)
        if entry is None or ret < 0:
            return
        info = ctx.proc(ctx.rec.pid)
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
        self.descriptors.add(info, ret, copy)

    def memfd_ret(self, buf: memoryview, off: int) -> None:
        """memfd_create: a descriptor of a file that lives in memory only."""
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_MEMFD)
        ret = ctx.ret(buf, off)
        if entry is None or ret < 0:
            return
        name, mfd_flags = entry
        assert isinstance(name, str) and isinstance(mfd_flags, int)
        info = ctx.proc(ctx.rec.pid)
        # the name /proc/PID/fd and /proc/PID/exe give it
        path = f"{MEMFD_PREFIX}{name}{DELETED}"
        flags = O_CLOEXEC if mfd_flags & MFD_CLOEXEC else 0
        self.descriptors.add(info, ret, FdInfo(FD_FILE, path, flags))

    def socket_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_SOCKET)
        ret = ctx.ret(buf, off)
        if entry is None or ret < 0:
            return
        family, stype, _proto = entry
        assert isinstance(family, int) and isinstance(stype, int)
        info = ctx.proc(ctx.rec.pid)
        name = FAMILY_NAMES.get(family, "socket")
        proto = TYPE_NAMES.get(stype, "raw")
        fdi = FdInfo(FD_SOCKET, f"{name} {proto}", 0, family, stype)
        self.descriptors.add(info, ret, fdi)

    def mmap_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_MMAP)
        if entry is None:
            return
        length, prot, fd = entry
        assert isinstance(length, int) and isinstance(prot, int) and isinstance(fd, int)
        ret = ctx.ret(buf, off)
        if not prot & PROT_EXEC or fd < 0 or -4096 < ret < 0:
            return
        info = ctx.proc(ctx.rec.pid)
        fdi = info.fds.get(fd)
        path = fdi.path if fdi is not None else ""
        ctx.load_image(path, ret & 0xFFFFFFFFFFFFFFFF, length)

    # ------------------------------------------------------------------ file names

    def unlink_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_UNLINK, K.K_UNLINKAT, K.K_RMDIR)
        if entry is None:
            return
        dfd, path, is_dir = entry
        assert isinstance(dfd, int) and isinstance(path, str)
        ret = ctx.ret(buf, off)
        pid = ctx.rec.pid
        info = ctx.proc(pid)
        if ctx.want_file:
            ctx.event(
                KINDS["DeleteFile"],
                [
                    P("pid", PID, pid),
                    P("file_path", PATH, ctx.abspath(info, dfd, path)),
                    P("type", STR, "Directory" if is_dir else "File"),
                    P("status", STR, status_text(ret)),
                ],
            )

    def rename_ret(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        entry = ctx.take(ctx.rec.tid, K.K_RENAME, K.K_RENAMEAT)
        if entry is None:
            return
        odfd, old, ndfd, new = entry
        assert isinstance(odfd, int) and isinstance(ndfd, int)
        ret = ctx.ret(buf, off)
        pid = ctx.rec.pid
        info = ctx.proc(pid)
        if ctx.want_file:
            ctx.event(
                KINDS["RenameFile"],
                [
                    P("pid", PID, pid),
                    P("file_path", PATH, ctx.abspath(info, odfd, str(old))),
                    P("new_file_path", PATH, ctx.abspath(info, ndfd, str(new))),
                    P("status", STR, status_text(ret)),
                ],
            )


def _create_file(pid: int, path: str, ret: int, flags: int) -> list[Param]:
    return [
        P("pid", PID, pid),
        P("file_path", PATH, path),
        P("file_object", U64, handle_key(pid, ret) if ret >= 0 else 0),
        P("fd", I32, ret if ret >= 0 else -1),
        P("flags", U32, flags & 0xFFFFFFFF),
        P("create_disposition", STR, disposition(flags)),
        P("status", STR, status_text(ret)),
    ]


def _close_file(pid: int, path: str, fd: int) -> list[Param]:
    return [
        P("pid", PID, pid),
        P("file_path", PATH, path),
        P("file_object", U64, handle_key(pid, fd)),
        P("fd", I32, fd),
    ]
