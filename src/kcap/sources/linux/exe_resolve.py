"""Which program an exec ran, as the kernel saw it, from what the capture knows.

The path given to exec is resolved in the context of the process that called exec, never in
kcap's own: ``/proc/self/...``, ``/proc/thread-self/...`` and ``/dev/fd/N`` name that process,
and a descriptor it execs (``/proc/self/fd/N``, ``fexecve``, ``execveat`` with
``AT_EMPTY_PATH``) names whatever its descriptor table says, such as ``/memfd:NAME (deleted)``
for a memory file. The text is what ``/proc/PID/exe`` would show; for a ``#!`` script the
kernel runs the interpreter, so that is the executable (docs/linux-capture.md, "Process
creation").
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable

from kcap.sources.linux.mapping_base import AT_FDCWD
from kcap.sources.linux.procfs import MEMFD_PREFIX, Executable, ProcInfo, describe_exe

AT_EMPTY_PATH = 0x1000
#: the kernel follows at most this many ``#!`` interpreters (binfmt_script)
_MAX_SCRIPT_DEPTH = 4
_BINPRM_BUF = 256
_FD_LINK = re.compile(r"^/(?:dev/fd|proc/(self|thread-self|\d+)(?:/task/\d+)?/fd)/(\d+)(/.*)?$")


class ExecResolver:
    """Resolves exec paths against the state of the processes the capture follows."""

    def __init__(
        self, procs: dict[int, ProcInfo], abspath: Callable[[ProcInfo, int, str], str]
    ) -> None:
        self.procs = procs
        #: a path made absolute against the process's cwd or a dirfd (`MappingContext.abspath`)
        self.abspath = abspath

    def resolve(
        self,
        pid: int,
        tid: int,
        info: ProcInfo,
        dirfd: int,
        path: str,
        flags: int,
        new_argv: list[str],
    ) -> Executable:
        """The executable of ``pid`` after exec(``dirfd``, ``path``, ``flags``) succeeded;
        ``new_argv`` is the argv the new program got (empty when it could not be read)."""
        target = self._target(pid, tid, info, dirfd, path, flags)
        if not target:
            target = _readlink(f"/proc/{pid}/exe")
        for _ in range(_MAX_SCRIPT_DEPTH):
            interp = _script_interpreter(target)
            if interp is None:
                break
            # The kernel put the interpreter it ran first in argv (after every level).
            if new_argv:
                interp = new_argv[0]
            target = self._target(pid, tid, info, AT_FDCWD, interp, 0)
            if new_argv:
                break
        return describe_exe(target)

    def _target(self, pid: int, tid: int, info: ProcInfo, dirfd: int, path: str, flags: int) -> str:
        if not path and flags & AT_EMPTY_PATH:
            return self._fd_path(pid, info, dirfd)
        path = self.abspath(info, dirfd, path)
        if not path.startswith("/"):
            return path  # relative to a directory the capture does not know
        m = _FD_LINK.match(path)
        if m is not None:
            who, fd, rest = m.group(1), int(m.group(2)), m.group(3)
            owner = pid if who in (None, "self", "thread-self") else int(who)
            owner_info = info if owner == pid else self.procs.get(owner)
            base = self._fd_path(owner, owner_info, fd)
            if not base:
                return path
            return posixpath.normpath(base + rest) if rest else base
        if path.startswith(("/proc/self/", "/proc/thread-self/")):
            # any other /proc/self path: the exec-ing process's, not kcap's
            path = path.replace("/proc/thread-self/", f"/proc/{pid}/task/{tid}/", 1)
            path = path.replace("/proc/self/", f"/proc/{pid}/", 1)
        # symlinks resolved as /proc/PID/exe shows them (/bin/true -> /usr/bin/true)
        return os.path.realpath(path)

    def _fd_path(self, pid: int, info: ProcInfo | None, fd: int) -> str:
        """What descriptor ``fd`` of ``pid`` names: from the descriptor table the capture
        keeps, else from /proc while the process still holds it."""
        fdi = info.fds.get(fd) if info is not None else None
        if fdi is not None and fdi.path:
            return fdi.path
        return _readlink(f"/proc/{pid}/fd/{fd}")


def _script_interpreter(path: str) -> str | None:
    """The interpreter of a ``#!`` script (None when ``path`` is not a readable script)."""
    if not path.startswith("/") or path.startswith(MEMFD_PREFIX):
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(_BINPRM_BUF)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip()
    if not line:
        return None
    return line.split(None, 1)[0].decode("utf-8", "surrogateescape")


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
