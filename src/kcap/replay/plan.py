"""What a replay does with each kind of event, decided once per kind (docs/engine.md).

`Plan.info` gives the replay loop the `Info` of a type id: the state rules of its kind, and the
catalogue's facts. `Plan.classify` gives the byte kernel its action for a kind (type id and
head strings): build the event lazily or decoded, or do not build it at all because nobody
receives it -- a state-only record when those are not asked for, or a kind the filter rejects --
in which case only its state rule runs, on values read from its bytes (or nothing, when it
changes no state). Both answers are remembered in bounded tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kcap.format.kernel.actions import DROP, FULL, LAZY, SKIP, VALUES
from kcap.model.catalogue import lookup
from kcap.model.event import Event

from .loop import Info

if TYPE_CHECKING:
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

#: Kinds (type id and head strings) remembered; a damaged file can make every event a new one.
MAX_KINDS = 4096


class Plan:
    """The per-kind decisions of one replay."""

    def __init__(
        self,
        snapshotters: tuple[HandleSnapshotter, ProcessSnapshotter],
        *,
        track: bool,
        include_state: bool,
        decode: bool,
        flt: Callable[[Event], bool] | None,
        kind_only: bool,
    ) -> None:
        self._snapshotters = snapshotters
        self.track = track
        self.include_state = include_state
        #: Build events decoded (True), or leave their tails for first access.
        self.decode = decode
        self.filter = flt
        #: A kind-only filter's verdicts by (type id, name, category, description), shared
        #: with the replay loop; None when the filter reads more than the kind.
        self.verdicts: dict[tuple[Any, ...], bool] | None = {} if flt and kind_only else None
        self.infos: dict[bytes, Info] = {}
        #: The kernel's action per kind (its 5-tuple), filled by `classify`.
        self.actions: dict[tuple[Any, ...], Any] = {}

    def info(self, type_id: bytes) -> Info:
        """The `Info` of a type id (remembered; bounded for ids the catalogue does not know)."""
        info = self.infos.get(type_id)
        if info is None:
            et = lookup(type_id)
            rules: tuple[Any, ...] = ()
            if self.track:
                found = (snap.rule(type_id) for snap in self._snapshotters)
                rules = tuple(r for r in found if r is not None)
            info = Info(rules, bool(et and et.state_only), bool(et and et.carries_process))
            if et is not None or len(self.infos) < MAX_KINDS:
                self.infos[type_id] = info
        return info

    def classify(self, kind: tuple[Any, ...]) -> Any:
        """The kernel's action for a kind ``(type id, name, category, description, host)``."""
        type_id = kind[0]
        info = self.info(type_id)
        action = self._action(info, kind)
        if len(self.actions) >= MAX_KINDS:
            self.actions.clear()
        self.actions[kind] = action
        return action

    def _action(self, info: Info, kind: tuple[Any, ...]) -> Any:
        if info.state_only:
            received = self.include_state
        else:
            received = self.verdicts is None or self._verdict(kind)
        if received:
            # The rules and attachment of an event carrying a process body read it decoded.
            needs_event = info.carries or any(r.names is None for r in info.rules)
            return FULL if self.decode or needs_event else LAZY
        if not info.rules:
            return SKIP if info.state_only else DROP
        if len(info.rules) == 1 and info.rules[0].names is not None:
            return (VALUES, info, info.rules[0].names)
        return FULL  # its rule reads the whole event: built, updated, then dropped

    def _verdict(self, kind: tuple[Any, ...]) -> bool:
        """The kind-only filter's verdict on events of ``kind``."""
        assert self.verdicts is not None and self.filter is not None
        type_id, name, category, description, host = kind
        key = (type_id, name, category, description)
        keep = self.verdicts.get(key)
        if keep is None:
            probe = Event(type=type_id, name=name, category=category, description=description)
            probe.host = host
            keep = bool(self.filter(probe))
            self.verdicts[key] = keep
        return keep
