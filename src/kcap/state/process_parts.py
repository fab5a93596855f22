"""Pieces of the process snapshotter: uuids of rebuilt states, the module index, and the
parameters each update reads (with what an accelerated twin of an update is handed).

`kcap.state.processes` holds the state machine itself.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, NamedTuple

from kcap.model import Module, Process, Thread, Timestamp
from kcap.state.values import IMAGE_PATH, THREAD_START

if TYPE_CHECKING:
    from kcap.state.dispatch import Handler


def derive_uuid(pid: int, start_time: Timestamp) -> int:
    """A deterministic, non-zero u64 process uuid from the pid and the start time.

    Used for states built from CreateProcess parameters, which have no recorded uuid. The value
    depends only on the capture, never on the machine that replays it; two processes get the
    same uuid only if they share pid and start instant (to the nanosecond).
    """
    key = f"kcap-process-uuid:{pid}:{start_time.ns}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return value or 1


class ModuleIndex:
    """Base addresses of one process's modules (see `ProcessSnapshotter._module_index`)."""

    __slots__ = ("bases", "length", "owner")

    def __init__(self, owner: Process) -> None:
        self.owner = owner
        self.bases = {m.base_address for m in owner.modules}
        self.length = len(owner.modules)


class ImageUpdateParts(NamedTuple):
    """See `ProcessSnapshotter.image_update_parts`."""

    module_cls: type[Module]
    index_cls: type[ModuleIndex]
    procs: dict[int, Process]
    indexes: dict[int, ModuleIndex]
    names: tuple[str, ...]
    on_load_image: Handler
    on_image_rundown: Handler


class ThreadUpdateParts(NamedTuple):
    """See `ProcessSnapshotter.thread_update_parts`."""

    thread_cls: type[Thread]
    procs: dict[int, Process]
    names: tuple[str, ...]
    on_thread: Handler


# The parameters each update reads, in the order its handler unpacks them.
TERMINATE_PROCESS_PARAMS = ("pid",)
PID_TID_PARAMS = ("pid", "tid")
THREAD_PARAMS = (
    "pid",
    "tid",
    "io_prio",
    "base_prio",
    "page_prio",
    "ustack",
    "ustack_limit",
    "kstack",
    "kstack_limit",
    *THREAD_START,
)
IMAGE_PARAMS = (
    "pid",
    *IMAGE_PATH,
    "base_address",
    "image_size",
    "checksum",
    "default_address",
    "signature_level",
    "signature_type",
)
UNLOAD_PARAMS = ("pid", "base_address")
