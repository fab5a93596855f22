"""The state of a capture at a moment: the processes alive and the handles open, as the
snapshotters hold them after replaying every record up to that moment, and process trees.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import kcap
from kcap.errors import KcapError
from kcap.model.process import Handle, Process
from kcap.model.timestamp import Timestamp

_RELATIVE = re.compile(r"^\+(\d+(?:\.\d*)?|\.\d+)s?$")


class TimeError(KcapError):
    """A ``--at`` time that is neither RFC 3339 text nor ``+SECONDS``."""


@dataclass(frozen=True)
class At:
    """A moment: absolute UTC nanoseconds, or seconds after the capture's first record."""

    ns: int | None = None
    after_s: float | None = None

    @classmethod
    def parse(cls, text: str) -> At:
        m = _RELATIVE.match(text.strip())
        if m:
            return cls(after_s=float(m.group(1)))
        value = text.strip()
        if len(value) > 10 and value[10] == " ":
            value = value[:10] + "T" + value[11:]
        if value and value[-1] not in "Zz" and not re.search(r"[+-]\d\d:\d\d$", value):
            value += "Z"  # no zone given: UTC
        ts = Timestamp(value)
        if not ts.valid:
            raise TimeError(
                f"cannot read the time {text!r}: give RFC 3339 text "
                "(2022-08-15T21:56:40Z, 2022-08-15T23:56:40.5+02:00) or +SECONDS after the "
                "capture's first event (+12.5)"
            )
        return cls(ns=ts.ns)


@dataclass
class Snapshot:
    path: str
    processes: list[Process] = field(default_factory=list)
    handles: list[Handle] = field(default_factory=list)
    at: Timestamp | None = None  # the last record applied
    records: int = 0


def state_at(path: str | os.PathLike[str], at: At | None = None) -> Snapshot:
    """Replay ``path`` up to ``at`` (every record whose time is not after it; the whole
    capture when None) and return the state then."""
    out = Snapshot(str(path))
    with kcap.open(path) as reader:
        hsnap, psnap = reader.recover_snapshotters()
        limit = None if at is None else at.ns
        first: int | None = None
        for ev in reader.read(include_state=True, lazy=True):
            if at is not None:
                ns = ev.timestamp.ns
                if first is None:
                    first = ns
                    if at.after_s is not None:
                        limit = first + int(at.after_s * 1e9)
                if limit is not None and ns > limit:
                    break
            out.records += 1
            out.at = ev.timestamp
        out.processes = psnap.processes()
        out.handles = hsnap.handles()
    return out


@dataclass
class Node:
    process: Process
    children: list[Node] = field(default_factory=list)


def tree(processes: list[Process]) -> list[Node]:
    """The processes as a forest: a process hangs under its parent when its parent state is
    among ``processes`` (a parent that exited, or was never seen, makes a root)."""
    nodes = {id(p): Node(p) for p in processes}
    roots = []
    for p in processes:
        parent = p.parent
        holder = nodes.get(id(parent)) if parent is not None else None
        if holder is None or _in_cycle(p, nodes):
            roots.append(nodes[id(p)])
        else:
            holder.children.append(nodes[id(p)])
    for n in nodes.values():
        n.children.sort(key=lambda c: c.process.pid)
    roots.sort(key=lambda c: c.process.pid)
    return roots


def _in_cycle(p: Process, nodes: dict[int, Node]) -> bool:
    """True when following parents from ``p`` within ``nodes`` comes back to ``p`` (a damaged
    capture can link processes in a loop; each of them is then shown as a root)."""
    seen = set()
    q = p.parent
    while q is not None and id(q) in nodes and id(q) not in seen:
        if q is p:
            return True
        seen.add(id(q))
        q = q.parent
    return q is p


def user_of(p: Process) -> str:
    if p.username:
        return f"{p.domain}\\{p.username}" if p.domain else p.username
    return p.sid


__all__ = ["At", "Node", "Snapshot", "TimeError", "state_at", "tree", "user_of"]
