"""Syscall entries: what an entry record carries that its exit will need.

Most syscalls are mapped at their exit, once the result is known; the entry record holds the
arguments (and the strings read from user memory, which are only readable at entry). The
`EntryRecords` handler keeps them per thread in the context's ``pending`` table, under the kind
the exit handler asks for (`MappingContext.take`).
"""

from __future__ import annotations

from kcap.sources.linux import probes as K
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.mapping_base import (
    AT_FDCWD,
    HDR,
    I32S,
    O_CREAT,
    O_TRUNC,
    WORDS,
    s32,
)


class EntryRecords:
    """Remembers the entry of a syscall whose exit decides what happened."""

    def __init__(self, ctx: MappingContext) -> None:
        self.ctx = ctx

    def enter(self, buf: memoryview, off: int) -> None:
        ctx = self.ctx
        kind = HDR.unpack_from(buf, off)[0]
        probe = ctx.layouts[kind]
        words = WORDS[probe.nwords].unpack_from(buf, off + K.HEADER_SIZE)
        slot_str = ctx.slot_str
        extra: tuple[object, ...]
        if kind == K.K_OPENAT:  # openat2: flags from the struct open_how read at entry
            how = ctx.slot_bytes(buf, off, probe, 1)
            flags = int.from_bytes(how[:8], "little") if len(how) >= 8 else 0
            extra = (s32(words[0]), slot_str(buf, off, probe, 0), flags)
        elif kind == K.K_OPEN:
            extra = (AT_FDCWD, slot_str(buf, off, probe, 0), words[1])
        elif kind == K.K_CREAT:
            extra = (AT_FDCWD, slot_str(buf, off, probe, 0), O_CREAT | O_TRUNC | 1)
        elif kind in (K.K_UNLINK, K.K_RMDIR):
            extra = (AT_FDCWD, slot_str(buf, off, probe, 0), kind == K.K_RMDIR)
        elif kind == K.K_UNLINKAT:
            extra = (s32(words[0]), slot_str(buf, off, probe, 0), bool(words[2] & 0x200))
        elif kind == K.K_RENAME:
            extra = (
                AT_FDCWD,
                slot_str(buf, off, probe, 0),
                AT_FDCWD,
                slot_str(buf, off, probe, 1),
            )
        elif kind == K.K_RENAMEAT:
            extra = (
                s32(words[0]),
                slot_str(buf, off, probe, 0),
                s32(words[2]),
                slot_str(buf, off, probe, 1),
            )
        elif kind in (K.K_EXECVE, K.K_EXECVEAT):
            # execve(path, argv) has the path in word 0; execveat(dfd, path, argv) in word 1
            dfd = AT_FDCWD if kind == K.K_EXECVE else s32(words[0])
            filename = slot_str(buf, off, probe, 0)
            argv: list[str] = []
            for i in range(1, 1 + K.ARGV_MAX):
                n = I32S.unpack_from(buf, off + probe.lens_off + 4 * i)[0]
                if n <= 0:
                    break
                argv.append(slot_str(buf, off, probe, i))
            flags = words[4] & 0xFFFFFFFF if kind == K.K_EXECVEAT else 0
            # the kernel's copy of the file name comes later (sched_process_exec), if at all
            extra = (dfd, filename, argv, flags, None)
            kind = K.K_EXECVE
        elif kind == K.K_MEMFD:
            extra = (slot_str(buf, off, probe, 0), words[1])
        elif kind == K.K_CHDIR:
            extra = (slot_str(buf, off, probe, 0),)
        elif kind == K.K_FCHDIR:
            extra = (None, s32(words[0]))
        elif kind in (K.K_DUP, K.K_DUP1):
            extra = (s32(words[0]),)
            kind = K.K_DUP
        elif kind == K.K_SOCKET:
            extra = (words[0], words[1] & 0xF, words[2])
        elif kind == K.K_MMAP:
            extra = (words[1], words[2], s32(words[4]))
        elif kind == K.K_CONNECT:
            extra = (s32(words[0]), ctx.slot_bytes(buf, off, probe, 0))
        else:  # accept: the fd is enough
            extra = (s32(words[0]),)
        ctx.pending[ctx.rec.tid] = (kind, extra)
