"""The descriptor table of each process, and the handle events that follow it.

Descriptors are handles: each descriptor that appears or goes emits ``CreateHandle`` /
``CloseHandle`` with ``handle_id`` = fd and ``handle_object`` = ``pid << 32 | fd``, which replay
tracks as state (docs/linux-capture.md, "Handles"). Every handler that opens, duplicates or
closes a descriptor goes through `Descriptors`.
"""

from __future__ import annotations

from kcap.model import Param
from kcap.sources.linux.context import MappingContext
from kcap.sources.linux.mapping_base import P, shared_params
from kcap.sources.linux.procfs import FdInfo, ProcInfo, handle_key
from kcap.sources.linux.taxonomy import KINDS, PID, STR, U32, U64


class Descriptors:
    """Adds descriptors to and drops them from a process's table, with their handle events."""

    def __init__(self, ctx: MappingContext) -> None:
        self.ctx = ctx

    def add(self, info: ProcInfo, fd: int, fdi: FdInfo) -> None:
        """``fd`` of the current record's process now names ``fdi`` (replacing what it named)."""
        if fd in info.fds:
            self.drop(info, fd)
        info.fds[fd] = fdi
        if self.ctx.want_handle:
            self._handle_event("CreateHandle", fd, fdi)

    def drop(self, info: ProcInfo, fd: int) -> None:
        """``fd`` of the current record's process is closed."""
        fdi = info.fds.pop(fd, None)
        if fdi is not None and self.ctx.want_handle:
            self._handle_event("CloseHandle", fd, fdi)

    def _handle_event(self, name: str, fd: int, fdi: FdInfo) -> None:
        """CreateHandle / CloseHandle for a descriptor (state: replay tracks the handles)."""
        pid = self.ctx.rec.pid
        self.ctx.event(
            KINDS[name],
            shared_params((name, pid, fd, fdi.path, fdi.kind), _handle_params, pid, fd, fdi),
            state=True,
        )


def _handle_params(pid: int, fd: int, fdi: FdInfo) -> list[Param]:
    return [
        P("pid", PID, pid),
        P("handle_id", U32, fd),
        P("handle_object", U64, handle_key(pid, fd)),
        P("handle_name", STR, fdi.path),
        P("type_id", STR, fdi.kind),
    ]
