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
        # Only ids of real type-id width are cached: a garbage id from a damaged file must not
        # make the cache grow without bound (there are few distinct valid ids).
        if isinstance(type_id, bytes) and len(type_id) in (17, 18):
            self[type_id] = found
        return found
