"""Pieces of the process snapshotter: uuids of rebuilt states and the parameters each rule
reads.

`kcap.state.processes` holds the state machine itself.
"""

from __future__ import annotations

import hashlib

from kcap.model import Timestamp

from .values import IMAGE_PATH, THREAD_START


def derive_uuid(pid: int, start_time: Timestamp) -> int:
    """A deterministic, non-zero u64 process uuid from the pid and the start time.

    Used for states built from CreateProcess parameters, which have no recorded uuid. The value
    depends only on the capture, never on the machine that replays it; two processes get the
    same uuid only if they share pid and start instant (to the nanosecond).
    """
    key = f"kcap-process-uuid:{pid}:{start_time.ns}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return value or 1


# The parameters each rule reads, in the order it unpacks them.
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
