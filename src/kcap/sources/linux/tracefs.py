"""Finding tracepoints: tracefs gives each tracepoint's numeric id and its record layout.

tracefs is not mounted by default on the target machines. When no mounted copy exists,
`lookup` mounts it in a mount namespace private to a short-lived thread, reads what it needs
there and lets the thread end: nobody else ever sees the mount, and nothing can leave it behind,
not even a SIGKILL in the middle (the kernel frees a mount namespace with its last task).
Attaching eBPF programs needs only the numeric ids, so nothing of tracefs outlives the lookup.
Mounts left on ``$TMPDIR/kcap-tracefs-*`` by older versions of kcap, which mounted in the
machine's namespace, are removed at start (docs/linux-capture.md, "Clean-up").
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from kcap.sources.linux import sysapi

_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_FIELD_RE = re.compile(r"field:(?P<decl>[^;]+);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);")
#: where kcap up to this version mounted tracefs (in the machine's own mount namespace)
STALE_PREFIX = "kcap-tracefs-"

T = TypeVar("T")


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    size: int


@dataclass(frozen=True)
class Tracepoint:
    """What the capture needs of one tracepoint: its id and the fields of its record."""

    name: str  # "sched/sched_process_exit"
    id: int
    fields: dict[str, Field]


def parse_format(text: str) -> dict[str, Field]:
    """Fields of a tracepoint ``format`` file by name."""
    out: dict[str, Field] = {}
    for m in _FIELD_RE.finditer(text):
        decl = m.group("decl").strip()
        name = decl.split()[-1]
        name = name.split("[", 1)[0].lstrip("*")
        out[name] = Field(name, int(m.group("off")), int(m.group("size")))
    return out


def lookup(tracepoints: Iterable[str]) -> dict[str, Tracepoint]:
    """The tracepoints of ``tracepoints`` that this kernel has, by name.

    Raises `OSError` when tracefs is neither mounted nor mountable.
    """
    names = list(tracepoints)
    clean_stale_mounts()
    root = mounted_root()
    if root is not None:
        return _read(root, names)

    def in_private_namespace() -> dict[str, Tracepoint]:
        sysapi.private_mount_namespace()
        # Any directory serves as the mount point: only this thread sees what is mounted there.
        target = next((c for c in _CANDIDATES if os.path.isdir(c)), tempfile.gettempdir())
        sysapi.mount("nodev", target, "tracefs")
        return _read(target, names)

    return _on_own_thread(in_private_namespace)


def mounted_root() -> str | None:
    """A tracefs already mounted where this process can see it, if any."""
    for cand in _CANDIDATES:
        if os.path.isdir(os.path.join(cand, "events")):
            return cand
    try:
        with open("/proc/self/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "tracefs":
                    point = _unescape(parts[1])
                    if os.path.isdir(os.path.join(point, "events")):
                        return point
    except OSError:
        pass
    return None


def clean_stale_mounts() -> list[str]:
    """Unmount and remove what older kcap versions left on ``$TMPDIR/kcap-tracefs-*``;
    returns the paths removed."""
    stale_root = os.path.join(tempfile.gettempdir(), STALE_PREFIX)
    mounted: set[str] = set()
    try:
        with open("/proc/self/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "tracefs":
                    point = _unescape(parts[1])
                    if point.startswith(stale_root):
                        mounted.add(point)
    except OSError:
        return []
    removed = []
    for point in sorted(mounted | set(glob.glob(stale_root + "*"))):
        try:
            if point in mounted:
                sysapi.umount(point)
            os.rmdir(point)  # only ever an empty mount point
            removed.append(point)
        except OSError:
            continue
    return removed


def _unescape(field: str) -> str:
    """A /proc/mounts path field (spaces and the like are written as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _read(root: str, names: list[str]) -> dict[str, Tracepoint]:
    out: dict[str, Tracepoint] = {}
    for name in names:
        base = os.path.join(root, "events", name)
        try:
            with open(os.path.join(base, "id")) as fh:
                tp_id = int(fh.read().strip())
            with open(os.path.join(base, "format")) as fh:
                fields = parse_format(fh.read())
        except FileNotFoundError:
            continue
        out[name] = Tracepoint(name, tp_id, fields)
    return out


def _on_own_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread of its own (whose mount namespace dies with it); its result or
    its exception."""
    box: list[T] = []
    err: list[BaseException] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            err.append(exc)

    th = threading.Thread(target=run, name="kcap-tracefs", daemon=True)
    th.start()
    th.join()
    if err:
        raise err[0]
    return box[0]
