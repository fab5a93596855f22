"""Per-type-id handler caches shared by the snapshotters.

The reader drives the snapshotters with every event, and most events change no state. Each
snapshotter therefore resolves a raw type id (17 or 18 bytes, as stored) to its handler once,
through the catalogue's canonical name, and remembers the answer -- including "no handler" -- so
the per-event cost of an irrelevant event is one dict lookup. The canonical name comes from the
type id, never from the recorded name: writers of 2020-2023 recorded rundowns as ``N/A``, an
empty name or raw bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kcap.model import Event, lookup

Handler = Callable[[Event], None]

#: Ids the catalogue does not know are cached only while the cache is smaller than this: a
#: damaged capture can hold a different garbage id in every event, and the cache must not grow
#: with the capture. Known ids are bounded by the catalogue (a few hundred, in two widths).
MAX_CACHED = 4096


class HandlerCache(dict[bytes, Handler | None]):
    """Raw type id -> handler chosen by canonical event name (None: the type changes nothing).

    A dict whose misses are resolved through the catalogue, so that ``cache[type_id]`` (and the
    bound ``cache.__getitem__`` the snapshotters hand out as ``handler``) costs one C-level
    lookup once an id has been seen.
    """

    __slots__ = ("_by_name",)

    def __init__(self, by_name: Mapping[str, Handler]) -> None:
        super().__init__()
        self._by_name = dict(by_name)

    def __missing__(self, type_id: bytes) -> Handler | None:
        et = lookup(type_id) if isinstance(type_id, bytes | bytearray) else None
        found = None if et is None else self._by_name.get(et.name)
        if isinstance(type_id, bytes) and (et is not None or len(self) < MAX_CACHED):
            self[type_id] = found
        return found
