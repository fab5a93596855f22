"""Reading a BPF ring buffer map from user space through mmap.

Layout the kernel exposes: page 0 holds the consumer position (read-write for us), page 1 the
producer position (read-only), and from page 2 the data area, mapped twice in a row so a record
that wraps around the end can be read as one contiguous slice. Each record starts with an 8-byte
header: u32 length with bit 31 = still being written (busy) and bit 30 = discarded.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable

_BUSY = 1 << 31
_DISCARD = 1 << 30
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class RingBuffer:
    def __init__(self, map_fd: int, size: int) -> None:
        self.size = size
        self._mask = size - 1
        page = mmap.PAGESIZE
        self._cons_map = mmap.mmap(
            map_fd, page, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._data_map = mmap.mmap(
            map_fd, page + 2 * size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ, offset=page
        )
        self._page = page
        self._data = memoryview(self._data_map)
        self._cons = memoryview(self._cons_map)

    def drain(self, handle: Callable[[memoryview, int, int], None], limit: int = 1 << 30) -> int:
        """Hand every committed record to ``handle(buf, offset, length)``; returns the count.

        ``buf`` is only valid during the call. At most ``limit`` bytes are consumed per call so
        a busy producer cannot starve the caller.
        """
        data = self._data
        page = self._page
        mask = self._mask
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(data, 0)[0]
        end = min(prod, cons + limit)
        n = 0
        unpack_u32 = _U32.unpack_from
        while cons < end:
            pos = page + (cons & mask)
            hdr = unpack_u32(data, pos)[0]
            if hdr & _BUSY:
                break
            length = hdr & ~(_BUSY | _DISCARD)
            if not hdr & _DISCARD:
                handle(data, pos + 8, length)
                n += 1
            cons += (length + 8 + 7) & ~7
        _U64.pack_into(self._cons, 0, cons)
        return n

    def discard(self) -> dict[int, int]:
        """Skip every committed record unread; returns how many of each kind (the u32 at the
        start of a record) were skipped."""
        data = self._data
        page = self._page
        mask = self._mask
        cons = _U64.unpack_from(self._cons, 0)[0]
        end = _U64.unpack_from(data, 0)[0]
        counts: dict[int, int] = {}
        unpack_u32 = _U32.unpack_from
        while cons < end:
            pos = page + (cons & mask)
            hdr = unpack_u32(data, pos)[0]
            if hdr & _BUSY:
                break
            length = hdr & ~(_BUSY | _DISCARD)
            if not hdr & _DISCARD and length >= 4:
                kind = unpack_u32(data, pos + 8)[0]
                counts[kind] = counts.get(kind, 0) + 1
            cons += (length + 8 + 7) & ~7
        _U64.pack_into(self._cons, 0, cons)
        return counts

    def fill(self) -> float:
        """How full the buffer is, 0.0 to 1.0."""
        return self.pending() / self.size

    def pending(self) -> int:
        """Bytes produced but not yet consumed."""
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(self._data, 0)[0]
        return int(prod - cons)

    def close(self) -> None:
        self._data.release()
        self._cons.release()
        self._data_map.close()
        self._cons_map.close()


class Counters:
    """An array map of u64 counters mapped into this process (``BPF_F_MMAPABLE``): read with
    no system call, as often as wanted."""

    def __init__(self, map_fd: int, entries: int) -> None:
        size = max(mmap.PAGESIZE, 8 * entries)
        self._map = mmap.mmap(map_fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        self._view = memoryview(self._map).cast("Q")
        self.entries = entries

    def nonzero(self) -> dict[int, int]:
        """index -> count for every counter that is not zero."""
        return {i: n for i, n in enumerate(self._view[: self.entries]) if n}

    def close(self) -> None:
        self._view.release()
        self._map.close()
