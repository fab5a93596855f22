"""The handle snapshotter: open kernel object handles, keyed by object address.

Replay behaviour follows snapshotters.md §2. The initial state comes from the capture's handle
section; CreateHandle inserts or replaces the entry of its ``handle_object`` and CloseHandle
deletes it. Later records with the same object address replace earlier ones, as upstream's map
does; `handles` lists the entries in first-insertion order, which is what a writer puts in the
handle section of a new capture.

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

from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter

from kcap.model import Event, Handle
from kcap.state.dispatch import Handler, HandlerCache
from kcap.state.values import (
    HANDLE_TYPE,
    ParamMap,
    param_int,
    param_int_or_zero,
    param_text,
    params_of,
)
from kcap.state.warnings import WarningLog, WarningSink

_OBJECT = attrgetter("object")


class HandleSnapshotter:
    """State: object address -> `Handle`."""

    #: The parameters CreateHandle/CloseHandle updates read, in the order an accelerated twin
    #: of `updaters` expects them.
    UPDATE_PARAMS = ("handle_object", "handle_id", *HANDLE_TYPE, "handle_name")

    def __init__(
        self, handles: Iterable[Handle] = (), *, on_warning: WarningSink | None = None
    ) -> None:
        # Built by C-level iteration: a capture's snapshot holds tens of thousands of handles.
        snapshot = handles if isinstance(handles, (list, tuple)) else list(handles)
        self._by_object: dict[int, Handle] = dict(zip(map(_OBJECT, snapshot), snapshot))
        #: The default warning sink when no ``on_warning`` was given (None otherwise).
        self.warnings: WarningLog | None = None
        if on_warning is None:
            self.warnings = WarningLog()
            on_warning = self.warnings
        self._warn = on_warning
        self._handlers = HandlerCache(
            {"CreateHandle": self._on_create_handle, "CloseHandle": self._on_close_handle}
        )
        #: ``handler(type_id)``: the update function for events of a raw type id (17 or 18
        #: bytes), or None when they change nothing. Cached per id; it is the cache's own
        #: C-level lookup, so the reader skips an irrelevant event with one cheap call.
        self.handler: Callable[[bytes], Handler | None] = self._handlers.__getitem__

    # ------------------------------------------------------------------ event-driven updates

    def update(self, event: Event) -> None:
        """Apply one event (convenience form of `handler`)."""
        h = self._handlers[event.type]
        if h is not None:
            h(event)

    def _object(self, what: str, event: Event, params: ParamMap) -> int | None:
        obj = param_int(params, "handle_object")
        if obj is None:
            self._warn(
                f"{what} (seq {event.seq}, pid {event.pid}): "
                "parameter 'handle_object' missing or not an integer; state unchanged"
            )
        return obj

    def _on_create_handle(self, event: Event) -> None:
        params = params_of(event)
        obj = self._object("CreateHandle", event, params)
        if obj is None:
            return
        self._by_object[obj] = Handle(
            num=param_int_or_zero(params, "handle_id"),
            object=obj,
            pid=event.pid,
            type=param_text(params, *HANDLE_TYPE),
            name=param_text(params, "handle_name"),
        )

    def _on_close_handle(self, event: Event) -> None:
        obj = self._object("CloseHandle", event, params_of(event))
        if obj is not None:
            self._by_object.pop(obj, None)

    def updaters(self) -> dict[str, Handler]:
        """The update function of each event name this snapshotter handles.

        With `by_object` this lets an accelerated twin of an updater work on the same table
        and hand back to the original for anything unusual (see `Reader`).
        """
        return {"CreateHandle": self._on_create_handle, "CloseHandle": self._on_close_handle}

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
