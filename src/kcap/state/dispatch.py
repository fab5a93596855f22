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


class HandlerCache:
    """Map raw type ids to handlers chosen by canonical event name."""

    __slots__ = ("_by_name", "_cache")

    def __init__(self, by_name: Mapping[str, Handler]) -> None:
        self._by_name = dict(by_name)
        self._cache: dict[bytes, Handler | None] = {}

    def get(self, type_id: bytes) -> Handler | None:
        try:
            return self._cache[type_id]
        except KeyError:
            pass
        et = lookup(type_id)
        found = None if et is None else self._by_name.get(et.name)
        # Only ids of real type-id width are cached: a garbage id from a damaged file must not
        # make the cache grow without bound (there are few distinct valid ids).
        if len(type_id) in (17, 18):
            self._cache[bytes(type_id)] = found
        return found
