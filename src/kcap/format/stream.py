"""Walking the decompressed stream: header, handle snapshot, then one raw event after another.

`RecordStream` turns the decompressor's chunks into raw records without decoding them: for each
event it yields ``(buf, start, end, section_version, base)`` where ``buf[start:end]`` is the body
and ``base`` the absolute stream offset of ``buf[0]``. Records never straddle buffers, so decoders
work on one ``bytes`` object with plain offsets. Memory is bounded by the chunk size plus the
largest record, and the largest record is bounded by ``max_record``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import Any

from kcap.errors import Corrupt, LimitExceeded, Truncated
from kcap.format import sections as sec
from kcap.format.accel import speedups
from kcap.format.cursor import Cursor
from kcap.format.handles import SHORT_RECORD_SIZE, decode_prefixed_handle, is_short_snapshot
from kcap.format.header import HEADER_SIZE, MAGIC_BE, MAGIC_LE, Header, parse_header
from kcap.model.process import Handle

DEFAULT_MAX_RECORD = 64 << 20

RawEvent = tuple[bytes, int, int, int, int]


class RecordStream:
    """Raw records of one capture, pulled from an iterable of decompressed chunks."""

    def __init__(
        self,
        chunks: Iterable[bytes] | Iterable[list[bytes]],
        path: str | None = None,
        max_record: int = DEFAULT_MAX_RECORD,
    ) -> None:
        self._chunks: Iterator[bytes | list[bytes]] = iter(chunks)
        self.path = path
        self.max_record = max_record
        self.buf = b""
        self.pos = 0
        self.base = 0  # absolute offset of buf[0]
        self.eof = False
        self.header: Header | None = None
        self.handles: list[Handle] = []
        self.handle_count_declared = 0
        self.short_handles = False
        self._section = struct.Struct("<BBII").unpack_from

    # ------------------------------------------------------------------ buffering

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available at ``pos``; False when the stream ends first."""
        while len(self.buf) - self.pos < need:
            if self.eof:
                return False
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.eof = True
                return False
            rest = self.buf[self.pos :]
            self.base += self.pos
            if isinstance(chunk, list):  # pieces (Decompressor.parts): joined with the rest
                self.buf = b"".join([rest, *chunk] if rest else chunk)
            else:
                self.buf = rest + chunk if rest else chunk
            self.pos = 0
        return True

    @property
    def offset(self) -> int:
        """Absolute offset of the next unread byte."""
        return self.base + self.pos

    def at_end(self) -> bool:
        return not self._fill(1)

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self.buf[self.pos : self.pos + n]

    # ------------------------------------------------------------------ header and handles

    def read_header(self) -> Header:
        head = self.peek(HEADER_SIZE)
        if head[:8] not in (MAGIC_LE, MAGIC_BE):
            # Either the headerless pre-release stream or not a capture; the caller decides.
            return parse_header(head, self.path)
        self.header = parse_header(head, self.path)
        self._section = struct.Struct(self.header.prefix + "BBII").unpack_from
        self.pos += HEADER_SIZE
        return self.header

    def read_handle_section(self) -> list[Handle]:
        assert self.header is not None
        prefix = self.header.prefix
        at = self.offset
        if not self._fill(sec.SECTION_SIZE):
            raise Truncated(
                "couldn't read handle section: the stream ends after the file header "
                f"({len(self.buf) - self.pos} of {sec.SECTION_SIZE} bytes)",
                path=self.path,
                offset=at,
            )
        stype, _version, count, _size = struct.unpack_from(prefix + "BBII", self.buf, self.pos)
        if stype != sec.HANDLE:
            raise Corrupt(
                f"expected the handle section after the header, found section type {stype}",
                path=self.path,
                offset=at,
            )
        self.pos += sec.SECTION_SIZE
        self.handle_count_declared = count
        run = speedups.decode_handle_run if speedups is not None else None
        if run is not None and count and self._next_record_size() != SHORT_RECORD_SIZE:
            # Not the all-20-byte variant: the accelerator takes whole buffers of records.
            self.handles = self._read_handles_fast(count, run)
            return self.handles
        raw = [self._raw_handle_record(i, count) for i in range(count)]
        self.short_handles = is_short_snapshot([e - s for _, s, e, _ in raw])
        self.handles = [self._decode_handle_record(*r) for r in raw]
        return self.handles

    def _next_record_size(self) -> int | None:
        """The u16 length of the handle record at ``pos`` (None when the stream ends first)."""
        if not self._fill(2):
            return None
        (size,) = struct.unpack_from(self.header.prefix + "H", self.buf, self.pos)  # type: ignore[union-attr]
        return int(size)

    def _raw_handle_record(self, i: int, count: int) -> tuple[bytes, int, int, int]:
        """Record ``i`` of ``count`` as (buf, start, end, base), its length prefix consumed."""
        rec_at = self.offset
        size = self._next_record_size()
        if size is None:
            raise Truncated(
                f"the handle section declares {count} records but the stream ends after {i}",
                path=self.path,
                offset=rec_at,
            )
        if not self._fill(2 + size):
            raise Truncated(
                f"handle record {i} of {size} bytes is cut short", path=self.path, offset=rec_at
            )
        start = self.pos + 2
        self.pos = start + size
        return self.buf, start, start + size, self.base

    def _decode_handle_record(self, buf: bytes, start: int, end: int, base: int) -> Handle:
        prefix = self.header.prefix  # type: ignore[union-attr]
        try:
            if self.short_handles:
                cur = Cursor(buf, start, end, prefix, "handle record")
                return Handle(cur.u64("value"), cur.u64("object"), cur.u32("pid"))
            # Both decoders re-read the u16 length in front of the record.
            fast = speedups.decode_handles if speedups is not None else None
            got = fast(buf, start - 2, end, 1, prefix == "<") if fast is not None else None
            if got is not None:
                return got[0][0]
            handle, _ = decode_prefixed_handle(buf, start - 2, end, prefix)
            return handle
        except Corrupt as exc:
            raise exc.located(path=self.path, base=base) from None

    def _read_handles_fast(self, count: int, run: Any) -> list[Handle]:
        """Every record through the accelerator, one buffer at a time; a record that straddles
        two buffers or is not well formed goes through the careful path above."""
        little = self.header.prefix == "<"  # type: ignore[union-attr]
        handles: list[Handle] = []
        while len(handles) < count:
            if not self._fill(2):
                self._raw_handle_record(len(handles), count)  # raises Truncated
            got, self.pos, stopped = run(self.buf, self.pos, count - len(handles), little)
            handles += got
            if (got and not stopped) or len(handles) == count:
                continue
            handles.append(
                self._decode_handle_record(*self._raw_handle_record(len(handles), count))
            )
        return handles

    # ------------------------------------------------------------------ events

    def section_ready(self) -> int | None:
        """Size of the next event section once it is wholly in ``buf`` at ``pos``.

        None at a clean end of the stream (on a record boundary). Raises `Truncated` when the
        stream ends inside the section, `Corrupt` for a section that is not an event, and
        `LimitExceeded` for one larger than ``max_record``.
        """
        assert self.header is not None
        buf, pos = self.buf, self.pos
        if len(buf) - pos < sec.SECTION_SIZE:
            if not self._fill(sec.SECTION_SIZE):
                if len(self.buf) - self.pos:
                    raise Truncated(
                        "the stream ends inside an event section header "
                        f"({len(self.buf) - self.pos} of {sec.SECTION_SIZE} bytes)",
                        path=self.path,
                        offset=self.offset,
                    )
                return None
            buf, pos = self.buf, self.pos
        stype, version, _len, size = self._section(buf, pos)
        if stype != sec.EVENT:
            raise Corrupt(
                f"expected an event section, found section type {stype} "
                f"(version {version}, size {size})",
                path=self.path,
                offset=self.base + pos,
            )
        if size > self.max_record:
            raise LimitExceeded(
                f"event section declares {size} bytes, more than the "
                f"{self.max_record >> 20} MiB record limit: the file is corrupt "
                "(or raise max_record)",
                path=self.path,
                offset=self.base + pos,
            )
        total = sec.SECTION_SIZE + size
        if len(buf) - pos < total and not self._fill(total):
            raise Truncated(
                f"the stream ends inside an event: its section declares {size} bytes "
                f"but only {len(self.buf) - self.pos - sec.SECTION_SIZE} follow",
                path=self.path,
                offset=self.offset,
            )
        return size

    def next_event(self) -> RawEvent | None:
        """The next raw event section, consumed; None at the end of the stream."""
        size = self.section_ready()
        if size is None:
            return None
        buf, pos = self.buf, self.pos
        version = buf[pos + 1]
        self.pos = pos + sec.SECTION_SIZE + size
        return buf, pos + sec.SECTION_SIZE, self.pos, version, self.base

    def event_run(self, limit: int, max_bytes: int) -> tuple[list[RawEvent], int]:
        """Up to ``limit`` raw events at once (stopping once their bodies reach ``max_bytes``)
        and their body bytes, from the complete event sections already in ``buf``; nothing when
        the next section is not one (`next_event` then reads it, and reports what is wrong).
        Needs the accelerator: without it, always nothing."""
        if speedups is None or self.header is None or len(self.buf) - self.pos < sec.SECTION_SIZE:
            return [], 0
        raws, self.pos, size = speedups.scan_sections(
            self.buf, self.pos, self.base, self.max_record, limit, max_bytes,
            self.header.prefix == "<",
        )  # fmt: skip
        return raws, size

    def events(self) -> Iterator[RawEvent]:
        """Event sections until the end of the stream (format 1.x / 2.x)."""
        while (raw := self.next_event()) is not None:
            yield raw

    def headerless_events(self) -> Iterator[RawEvent]:
        """Records of the §12.1 pre-release stream: u16 little-endian length + body."""
        while True:
            if not self._fill(2):
                if len(self.buf) - self.pos:
                    raise Truncated(
                        "the stream ends inside a record length",
                        path=self.path,
                        offset=self.offset,
                    )
                return
            buf, pos = self.buf, self.pos
            size = buf[pos] | buf[pos + 1] << 8
            if not self._fill(2 + size):
                raise Truncated(
                    f"the stream ends inside a record of {size} bytes",
                    path=self.path,
                    offset=self.offset,
                )
            buf, pos = self.buf, self.pos
            self.pos = pos + 2 + size
            yield buf, pos + 2, pos + 2 + size, 1, self.base
