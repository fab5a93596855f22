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
from types import ModuleType
from typing import Any

from kcap.errors import Corrupt, FormatError, LimitExceeded, Truncated
from kcap.format import schema as sec
from kcap.format.header import HEADER_SIZE, MAGIC_BE, MAGIC_LE, Header, parse_header
from kcap.format.kernel import pure
from kcap.model.process import Handle

DEFAULT_MAX_RECORD = 64 << 20
#: Handle records kept exactly as stored, repeats included (a Windows host holds a few hundred
#: thousand handles).
FAITHFUL_HANDLES = 1 << 18
#: Distinct handle records kept from a handle section, at most.
MAX_HANDLES = 1 << 21

RawEvent = tuple[bytes, int, int, int, int]


class RecordStream:
    """Raw records of one capture, pulled from an iterable of decompressed chunks."""

    def __init__(
        self,
        chunks: Iterable[bytes] | Iterable[list[bytes]],
        path: str | None = None,
        max_record: int = DEFAULT_MAX_RECORD,
        kernel: ModuleType | None = None,
    ) -> None:
        self._chunks: Iterator[bytes | list[bytes]] = iter(chunks)
        #: The byte kernel (`kcap.format.kernel.native` or ``pure``) that decodes records.
        self.kernel: ModuleType = kernel if kernel is not None else pure
        self.path = path
        self.max_record = max_record
        self.buf = b""
        self.pos = 0
        self.base = 0  # absolute offset of buf[0]
        self.eof = False
        self.header: Header | None = None
        self.handles: list[Handle] = []
        self.handle_count_declared = 0
        #: Distinct handle records kept; records read but not kept: repeats of an earlier
        #: record, and distinct ones beyond the limit.
        self.max_handles = MAX_HANDLES
        self.handles_repeated = 0
        self.handles_dropped = 0
        self.short_handles = False
        self._section = struct.Struct("<" + sec.SECTION_CODE).unpack_from

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
        self._section = struct.Struct(self.header.order.prefix + sec.SECTION_CODE).unpack_from
        self.pos += HEADER_SIZE
        return self.header

    def read_handle_section(self) -> list[Handle]:
        assert self.header is not None
        at = self.offset
        if not self._fill(sec.SECTION_SIZE):
            raise Truncated(
                "couldn't read handle section: the stream ends after the file header "
                f"({len(self.buf) - self.pos} of {sec.SECTION_SIZE} bytes)",
                path=self.path,
                offset=at,
            )
        stype, _version, count, _size = self._section(self.buf, self.pos)
        if stype != sec.HANDLE:
            raise Corrupt(
                f"expected the handle section after the header, found section type {stype}",
                path=self.path,
                offset=at,
            )
        self.pos += sec.SECTION_SIZE
        self.handle_count_declared = count
        order = self.header.order
        # The pre-release variant (docs/format.md, "Pre-release layouts"): every record is
        # exactly 20 bytes long; a normal record has at least 25.
        self.short_handles = bool(count) and self._record_size() == sec.SHORT_HANDLE_SIZE
        node = sec.PREFIXED_SHORT_HANDLE if self.short_handles else sec.PREFIXED_HANDLE
        codec = self.kernel.record_codec(node, order)
        run = getattr(self.kernel, "record_run", None)
        self.handles = self._read_records(count, codec, run(node, order) if run else None)
        return self.handles

    def _record_size(self) -> int | None:
        """The u16 length of the handle record at ``pos`` (None when the stream ends first)."""
        if not self._fill(2):
            return None
        (size,) = struct.unpack_from(self.header.order.prefix + "H", self.buf, self.pos)  # type: ignore[union-attr]
        return int(size)

    def _read_records(self, count: int, codec: Any, run: Any) -> list[Handle]:
        """``count`` u16-length-prefixed handle records: many per call of the native kernel
        where it has them complete in the buffer, one at a time (with precise errors)
        otherwise.

        Every record is kept as stored up to `FAITHFUL_HANDLES` of them (more than a real
        host holds). Past that, so that memory stays bounded whatever count a file declares (a
        hostile file can declare billions in a few kilobytes), a record identical to an
        earlier one is counted in ``handles_repeated`` and not kept again, and past
        ``max_handles`` distinct records the rest are read, counted in ``handles_dropped`` and
        not kept."""
        kept = _HandleSnapshot(self)
        read = 0
        while read < count:
            if run is not None and self._fill(2):
                # a few thousand at a time: a run's list must not hold a whole buffer of them
                got, self.pos, stopped = run(self.buf, self.pos, min(count - read, 4096))
                read += len(got)
                kept.add(got)
                if (got and not stopped) or read == count:
                    continue
            kept.add([self._one_record(read, count, codec)])
            read += 1
        return kept.handles

    def _one_record(self, i: int, count: int, codec: Any) -> Handle:
        """Record ``i`` of ``count``, read the careful way."""
        rec_at = self.offset
        size = self._record_size()
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
        try:
            handle, self.pos = codec.decode(self.buf, self.pos, self.pos + 2 + size)
        except FormatError as exc:
            raise exc.located(path=self.path, base=self.base) from None
        return handle

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
        Needs the native kernel: without it, always nothing."""
        scan = getattr(self.kernel, "scan_sections", None)
        if scan is None or self.header is None or len(self.buf) - self.pos < sec.SECTION_SIZE:
            return [], 0
        raws, self.pos, size = scan(
            self.buf, self.pos, self.base, self.max_record, limit, max_bytes,
            self.header.order.little,
        )  # fmt: skip
        return raws, size

    def events(self) -> Iterator[RawEvent]:
        """Event sections until the end of the stream (format 1.x / 2.x)."""
        while (raw := self.next_event()) is not None:
            yield raw

    def headerless_events(self) -> Iterator[RawEvent]:
        """Records of the headerless pre-release stream (docs/format.md, "Pre-release layouts"):
        a u16 little-endian length, then the body."""
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


def _handle_key(h: Handle) -> tuple[Any, ...]:
    meta = h.meta
    return (h.num, h.object, h.pid, h.type, h.name, None if meta is None else repr(meta))


class _HandleSnapshot:
    """The records of a handle section as `RecordStream._read_records` keeps them."""

    def __init__(self, stream: RecordStream) -> None:
        self.stream = stream
        self.handles: list[Handle] = []
        self.seen: set[tuple[Any, ...]] | None = None  # built once the list is long

    def add(self, handles: list[Handle]) -> None:
        kept, stream = self.handles, self.stream
        for h in handles:
            if self.seen is None:
                kept.append(h)
                if len(kept) >= FAITHFUL_HANDLES:
                    self.seen = {_handle_key(k) for k in kept}
                continue
            key = _handle_key(h)
            if key in self.seen:
                stream.handles_repeated += 1
            elif len(self.seen) >= stream.max_handles:
                stream.handles_dropped += 1
            else:
                self.seen.add(key)
                kept.append(h)
