"""Finding tracepoints: tracefs gives each tracepoint's numeric id and its record layout.

tracefs is not mounted by default on the target machines. `TracefsIds` mounts it on a private
temporary directory when no mounted copy exists, reads what it needs, and unmounts at once:
attaching eBPF programs needs only the numeric ids, so no mount outlives the start-up.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from kcap.sources.linux import sysapi

_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_FIELD_RE = re.compile(r"field:(?P<decl>[^;]+);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);")


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    size: int


def parse_format(text: str) -> dict[str, Field]:
    """Fields of a tracepoint ``format`` file by name."""
    out: dict[str, Field] = {}
    for m in _FIELD_RE.finditer(text):
        decl = m.group("decl").strip()
        name = decl.split()[-1]
        name = name.split("[", 1)[0].lstrip("*")
        out[name] = Field(name, int(m.group("off")), int(m.group("size")))
    return out


class TracefsIds:
    """Context manager giving tracepoint ids; mounts tracefs temporarily if it must."""

    def __init__(self) -> None:
        self.root: str | None = None
        self._mounted: str | None = None

    def __enter__(self) -> TracefsIds:
        return self.open()

    def open(self) -> TracefsIds:
        if self.root is not None:
            return self
        for cand in _CANDIDATES:
            if os.path.isdir(os.path.join(cand, "events")):
                self.root = cand
                return self
        tmp = tempfile.mkdtemp(prefix="kcap-tracefs-")
        try:
            sysapi.mount("nodev", tmp, "tracefs")
        except OSError:
            os.rmdir(tmp)
            raise
        self._mounted = tmp
        self.root = tmp
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._mounted is not None:
            try:
                sysapi.umount(self._mounted)
            finally:
                try:
                    os.rmdir(self._mounted)
                except OSError:
                    pass
                self._mounted = None

    def _path(self, tracepoint: str, leaf: str) -> str:
        assert self.root is not None
        return os.path.join(self.root, "events", tracepoint, leaf)

    def exists(self, tracepoint: str) -> bool:
        return os.path.exists(self._path(tracepoint, "id"))

    def id(self, tracepoint: str) -> int:
        with open(self._path(tracepoint, "id")) as fh:
            return int(fh.read().strip())

    def format(self, tracepoint: str) -> dict[str, Field]:
        with open(self._path(tracepoint, "format")) as fh:
            return parse_format(fh.read())
