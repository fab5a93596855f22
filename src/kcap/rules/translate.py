"""Events of every capture generation as current upstream rules expect them.

Rules are written for upstream's current names and attribution; captures (2020-2024 Windows
writers, and this project's Linux source, which uses the same taxonomy) carry the older ones
(docs/rules.md, "Old captures"). Per event, before any rule looks at it:

* ``LoadImage``/``UnloadImage``/``ImageRundown`` (category ``image``) become ``LoadModule``/
  ``UnloadModule``/``ModuleRundown`` (category ``module``);
* a ``CreateProcess`` is attributed to the process it creates: ``evt.pid`` is its ``pid``
  parameter and ``ps`` that process's state as the snapshotter built it from the event (whose
  parent is the creator), where captures attribute it to the creator;
* parameter renames are the field table's business (each accessor tries the current parameter
  name, then the older ones), and ``registry.value``/``registry.data`` take their current
  meanings in rule conditions (`kcap.filter.dialect`).

An event needing none of this is passed on as it is; otherwise a new `Event` sharing the
parameters of the original is made (the original is never changed).
"""

from __future__ import annotations

from collections.abc import Callable

from kcap.filter.accessors import event_name
from kcap.model.event import Event
from kcap.model.process import Process

EVENT_RENAMES = {
    "LoadImage": "LoadModule",
    "UnloadImage": "UnloadModule",
    "ImageRundown": "ModuleRundown",
}
CATEGORY_RENAMES = {"image": "module"}

ProcessLookup = Callable[[int], Process | None]


def head_kind(ev: Event) -> tuple[str, str]:
    """The current upstream name and category of an event's kind."""
    name = event_name(ev)
    return EVENT_RENAMES.get(name, name), CATEGORY_RENAMES.get(ev.category, ev.category)


class Translator:
    """Makes the current-upstream view of each event; ``processes`` finds state by pid."""

    def __init__(self, processes: ProcessLookup) -> None:
        self.processes = processes

    def __call__(self, ev: Event, name: str, category: str) -> Event:
        if name == "CreateProcess":
            return self._created(ev)
        if name != ev.name or category != ev.category:
            return _copy(ev, name, category, ev.pid, ev.ps)
        return ev

    def _created(self, ev: Event) -> Event:
        pid = ev.params.value("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return ev
        created = self.processes(pid)
        if created is None:
            created = ev.ps if ev.pid == pid else None
        if pid == ev.pid and created is ev.ps:
            return ev
        return _copy(ev, "CreateProcess", ev.category, pid, created)


def _copy(ev: Event, name: str, category: str, pid: int, ps: Process | None) -> Event:
    return Event(
        seq=ev.seq,
        pid=pid,
        tid=ev.tid,
        cpu=ev.cpu,
        type=ev.type,
        name=name,
        category=category,
        description=ev.description,
        host=ev.host,
        timestamp=ev.timestamp,
        params=ev.params,
        meta=ev.meta,
        ps=ps,
    )
