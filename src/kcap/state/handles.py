# cython: annotation_typing=False
"""The handle snapshotter: open kernel object handles, keyed by object address.

Replay behaviour follows docs/state.md, "Handles". The initial state comes from the capture's
handle section; CreateHandle inserts or replaces the entry of its ``handle_object`` and
CloseHandle deletes it. Later records with the same object address replace earlier ones, as
upstream's map does; `handles` lists the entries in first-insertion order, which is what a writer
puts in the handle section of a new capture.

Deviations from upstream (also in docs/state.md):

* CreateHandle fills the handle value from the ``handle_id`` parameter and the owner pid from
  the event header, where upstream leaves both 0. Upstream never reads these fields in replay,
  so nothing it shows changes; a capture written from this state records real values.
* The type name is read from ``type_id`` or, in 2020-2022 captures, ``handle_type``.
* A missing ``handle_object`` is reported through ``on_warning`` (upstream logs the
  parameter-not-found error); the event changes nothing.
* Handle events do not change any process's handle list, as upstream (the process snapshotter's
  callbacks are never invoked in replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter

from kcap.model.catalogue import HANDLES, UPDATES
from kcap.model.event import Event
from kcap.model.records import Handle

from .dispatch import EventHandlers, Rule, RuleCache, apply_to
from .values import HANDLE_TYPE, int_or_zero, int_value, text_value
from .warnings import WarningLog, WarningSink

_OBJECT = attrgetter("object")

#: The parameters CreateHandle reads, in the order its rule unpacks them.
CREATE_PARAMS = ("handle_object", "handle_id", *HANDLE_TYPE, "handle_name")
#: The parameter CloseHandle reads.
CLOSE_PARAMS = ("handle_object",)


class HandleSnapshotter:
    """State: object address -> `Handle`."""

    def __init__(
        self, handles: Iterable[Handle] = (), *, on_warning: WarningSink | None = None
    ) -> None:
        # Built by C-level iteration: a capture's snapshot holds tens of thousands of handles.
        snapshot = handles if isinstance(handles, (list, tuple)) else list(handles)
        self._by_object = dict(zip(map(_OBJECT, snapshot), snapshot))
        #: The default warning sink when no ``on_warning`` was given (None otherwise).
        self.warnings = None
        if on_warning is None:
            self.warnings = WarningLog()
            on_warning = self.warnings
        self._warn = on_warning
        self._rules = RuleCache(self.rules())
        #: ``rule(type_id)``: the `Rule` for events of a raw type id, or None.
        self.rule = self._rules.__getitem__
        #: ``handler(type_id)``: a function applying that rule to a built event, or None.
        self.handler = EventHandlers(self._rules).__getitem__

    def rules(self) -> dict[str, Rule]:
        """The rule of each kind of event this snapshotter handles (docs/state.md)."""
        rules = {
            "CreateHandle": Rule(CREATE_PARAMS, self._create_handle),
            "CloseHandle": Rule(CLOSE_PARAMS, self._close_handle),
        }
        assert set(rules) == {n for n, s in UPDATES.items() if s == HANDLES}
        return rules

    # ------------------------------------------------------------------ rules

    def update(self, event: Event) -> None:
        """Apply one event."""
        rule = self._rules[event.type]
        if rule is not None:
            apply_to(rule, event)

    def _missing_object(self, what: str, seq: int, pid: int) -> None:
        self._warn(
            f"{what} (seq {seq}, pid {pid}): "
            "parameter 'handle_object' missing or not an integer; state unchanged"
        )

    def _create_handle(self, seq: int, pid: int, values: Sequence[object]) -> None:
        obj = values[0]
        if type(obj) is not int:
            obj = int_value(obj)
            if obj is None:
                self._missing_object("CreateHandle", seq, pid)
                return
        type_ = values[2] if values[2] is not None else values[3]
        handle = Handle.__new__(Handle)
        handle.num = int_or_zero(values[1])
        handle.object = obj
        handle.pid = pid
        handle.type = type_ if type(type_) is str else text_value(type_)
        name = values[4]
        handle.name = name if type(name) is str else text_value(name)
        handle.meta = None
        self._by_object[obj] = handle

    def _close_handle(self, seq: int, pid: int, values: Sequence[object]) -> None:
        obj = values[0]
        if type(obj) is not int:
            obj = int_value(obj)
            if obj is None:
                self._missing_object("CloseHandle", seq, pid)
                return
        self._by_object.pop(obj, None)

    @property
    def by_object(self) -> dict[int, Handle]:
        """The live table, object address -> `Handle` (updated in place, never replaced)."""
        return self._by_object

    # ------------------------------------------------------------------ direct access

    def add(self, handle: Handle) -> None:
        """Insert ``handle``, replacing any handle with the same object address."""
        self._by_object[handle.object] = handle

    def remove(self, obj: int) -> Handle | None:
        """Remove and return the handle of object address ``obj``."""
        return self._by_object.pop(obj, None)

    def find(self, obj: int) -> Handle | None:
        """The handle of object address ``obj``, or None."""
        return self._by_object.get(obj)

    def handles(self) -> list[Handle]:
        """Every handle in first-insertion order (what a writer puts in the handle section)."""
        return list(self._by_object.values())

    def handles_of(self, pid: int) -> list[Handle]:
        """The handles owned by ``pid`` (upstream cannot answer this in replay)."""
        return [h for h in self._by_object.values() if h.pid == pid]

    def __len__(self) -> int:
        return len(self._by_object)

    def __iter__(self) -> Iterator[Handle]:
        return iter(self._by_object.values())

    def __repr__(self) -> str:
        return f"HandleSnapshotter({len(self._by_object)} handles)"
