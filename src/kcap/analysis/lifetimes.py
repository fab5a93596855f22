"""Processes, handles and modules of a capture over time, from one replay.

The process and handle snapshotters (`kcap.state`) own every rule of how events change state;
this module only watches their tables while the reader replays a capture, and notes when each
state object appears and disappears:

* a process is recorded when a new `Process` object shows up in the process table after a
  process event (CreateProcess, ProcessRundown); its exit is the TerminateProcess event after
  which it is no longer there. Its modules are the ones its state holds at its exit or at the
  end of the capture.
* a handle is recorded from the capture's handle snapshot (opened before the capture began) or
  when a CreateHandle puts a new entry in the handle table; it is closed by the CloseHandle
  after which its object is no longer there (or replaced by a later CreateHandle of the same
  object, which closes it at that time).

Every event replay emits is counted against the process it is attached to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import kcap
from kcap.model.catalogue import lookup
from kcap.model.event import Event
from kcap.model.process import Handle, Process
from kcap.model.timestamp import Timestamp
from kcap.state.handles import CLOSE_PARAMS

_PROCESS_MAKERS = frozenset({"CreateProcess", "ProcessRundown"})
_PROCESS_ENDER = "TerminateProcess"
_HANDLE_OPEN = "CreateHandle"
_HANDLE_CLOSE = "CloseHandle"
#: The parameter CreateHandle/CloseHandle key the handle table by (the snapshotter's).
_HANDLE_OBJECT = CLOSE_PARAMS[0]


@dataclass(eq=False)
class ProcessLife:
    process: Process
    first_seen: Timestamp  # the event that brought the state in
    seen_by: str  # CreateProcess | ProcessRundown
    exit_time: Timestamp | None = None
    exit_seq: int | None = None
    events: int = 0  # events attached to it (replayed events, rundowns excluded)

    @property
    def start(self) -> Timestamp:
        """The process's start time when its state knows it, else when the capture saw it."""
        st = self.process.start_time
        return st if st.valid and st.ns > 0 else self.first_seen


@dataclass(eq=False)
class HandleLife:
    handle: Handle
    opened: Timestamp | None  # None: already open when the capture began (handle snapshot)
    closed: Timestamp | None = None


@dataclass
class Lifetimes:
    """What one replay of a capture saw (see the module docstring)."""

    path: str
    processes: list[ProcessLife] = field(default_factory=list)
    handles: list[HandleLife] = field(default_factory=list)
    first: Timestamp | None = None
    last: Timestamp | None = None
    events: int = 0  # events replay emits (rundowns excluded)
    records: int = 0  # every record, state-only included


class _Kinds:
    """Canonical event names by type id (recorded names can be ``N/A`` in old rundowns)."""

    def __init__(self) -> None:
        self._by_type: dict[bytes, tuple[str, bool]] = {}

    def __call__(self, ev: Event) -> tuple[str, bool]:
        got = self._by_type.get(ev.type)
        if got is None:
            et = lookup(ev.type)
            got = (ev.name, False) if et is None else (et.name, et.state_only)
            if len(self._by_type) < 4096:
                self._by_type[ev.type] = got
        return got


def track(
    path: str | os.PathLike[str],
    *,
    handles: bool = True,
    on_event: Callable[[Event, str, bool], None] | None = None,
    on_error: Callable[[kcap.KcapError], None] | None = None,
) -> Lifetimes:
    """Replay ``path`` once and return its `Lifetimes`.

    ``handles=False`` leaves handle events alone (cheaper when only processes are wanted).
    ``on_event(event, kind, state_only)`` is called for every record after its state change.
    """
    out = Lifetimes(str(path))
    kinds = _Kinds()
    with kcap.open(path, on_error=on_error) as reader:
        hsnap, psnap = reader.recover_snapshotters()
        by_pid = psnap.by_pid
        by_object = hsnap.by_object
        alive: dict[int, ProcessLife] = {}  # id(process) -> its record, while in the table
        open_handles: dict[int, HandleLife] = {}  # object -> record of the handle there now
        if handles:
            for h in reader.handles:
                life = HandleLife(h, None)
                out.handles.append(life)
                open_handles[h.object] = life
        counts: dict[tuple[int, int], int] = {}
        for ev in reader.read(include_state=True, lazy=True):
            out.records += 1
            kind, state_only = kinds(ev)
            if not state_only:
                out.events += 1
                ts = ev.timestamp
                if out.first is None:
                    out.first = ts
                out.last = ts
                ps = ev.ps
                if ps is not None:
                    key = (ps.uuid, ps.pid)
                    counts[key] = counts.get(key, 0) + 1
            if kind in _PROCESS_MAKERS or kind == _PROCESS_ENDER:
                _processes_changed(ev, kind, by_pid, alive, out)
            elif handles and kind in (_HANDLE_OPEN, _HANDLE_CLOSE):
                _handles_changed(ev, kind, by_object, open_handles, out)
            if on_event is not None:
                on_event(ev, kind, state_only)
        for record in out.processes:
            record.events = counts.get((record.process.uuid, record.process.pid), 0)
    return out


def _processes_changed(
    ev: Event,
    kind: str,
    by_pid: dict[int, Process],
    alive: dict[int, ProcessLife],
    out: Lifetimes,
) -> None:
    present = {id(p) for p in by_pid.values()}
    for key in [k for k in alive if k not in present]:
        life = alive.pop(key)
        if kind == _PROCESS_ENDER:
            life.exit_time = ev.timestamp
            life.exit_seq = ev.seq
    if kind in _PROCESS_MAKERS:
        for proc in by_pid.values():
            if id(proc) not in alive:
                life = ProcessLife(proc, ev.timestamp, kind)
                alive[id(proc)] = life
                out.processes.append(life)


def _handles_changed(
    ev: Event,
    kind: str,
    by_object: dict[int, Handle],
    open_handles: dict[int, HandleLife],
    out: Lifetimes,
) -> None:
    obj = ev.param(_HANDLE_OBJECT)
    if obj.__class__ is not int:
        return
    current = by_object.get(obj)
    life = open_handles.get(obj)
    if life is not None and life.handle is not current:
        life.closed = ev.timestamp
        del open_handles[obj]
    if current is not None and obj not in open_handles:
        life = HandleLife(current, ev.timestamp)
        open_handles[obj] = life
        out.handles.append(life)


__all__ = ["HandleLife", "Lifetimes", "ProcessLife", "track"]
