"""The pure-Python byte kernel: decoders and encoders compiled from `kcap.format.schema`.

It is the reference twin of the C kernel (``_native``): both turn bytes into model values and
back, driven by the same declarations, and nothing else (docs/engine.md). This one also owns the
error messages: the C kernel hands anything unusual to it.

`record_codec` serves any declared structure; `EventCodec` serves the event bodies of one file
layout (byte order, parameter table, type-id width), lazily or in full.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from kcap.errors import Corrupt, FormatError
from kcap.format import schema as s
from kcap.format.kernel.compile_py import Decoder, Encoder, PyCompiler, cut
from kcap.format.params import TABLES, Codec
from kcap.model.event import Event
from kcap.model.params import Params
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp

NAME = "pure"
_CACHE_LIMIT = 4096

_compilers: dict[s.ByteOrder, PyCompiler] = {}


def compiler(order: s.ByteOrder) -> PyCompiler:
    """The compiler of one byte order (its functions are shared by every file of that order)."""
    got = _compilers.get(order)
    if got is None:
        got = _compilers[order] = PyCompiler(order)
    return got


class RecordCodec(NamedTuple):
    """Decoder and encoder of one declared structure in one byte order."""

    decode: Decoder
    encode: Encoder


def record_codec(node: Any, order: s.ByteOrder) -> RecordCodec:
    c = compiler(order)  # which makes each node's functions once
    return RecordCodec(c.decoder(node), c.encoder(node))


class Layout(NamedTuple):
    """Everything that decides how one file's event bodies read (found by generation
    detection, `kcap.format.detect`)."""

    order: s.ByteOrder
    table: str  # parameter table name, see kcap.format.params.TABLES
    ev1_width: int  # type-id width of sections labelled version 1 (18 in the Q1 period)
    short_handles: bool = False  # the pre-release short handle records
    headerless: bool = False  # the pre-release stream: no process section in bodies

    def describe(self) -> str:
        return f"param table {self.table}, {self.ev1_width}-byte type ids"

    def width(self, version: int) -> int:
        """The type-id width of an event section of ``version`` (0: no such version)."""
        return 18 if version == 2 else self.ev1_width if version == 1 else 0


class Tail(NamedTuple):
    """The undecoded rest of a lazy event (a `kcap.model.event.TailSource`): its bytes are
    ``buf[p:end]``, its timestamp text the ``ts_len`` bytes before ``p``; ``base`` is the stream
    offset of ``buf[0]``, for error messages. A tuple underneath: one is made per event."""

    codec: EventCodec
    buf: bytes
    p: int
    end: int
    base: int
    ts_len: int

    def decode(self) -> tuple[Params, list[tuple[str, str]], Process | None]:
        return self.codec.decode_tail(self.buf, self.p, self.end, self.base)

    def timestamp(self) -> Timestamp:
        p = self.p
        return Timestamp(self.buf[p - self.ts_len : p].decode("utf-8", "surrogateescape"))

    def values(self, names: tuple[str, ...]) -> tuple[Any, ...] | None:
        try:
            params, _, _ = self.decode()
        except FormatError:
            return None  # the event decodes (and reports) when it is read
        by_name = params.by_name
        return tuple(None if (q := by_name.get(n)) is None else q.value for n in names)

    def __deepcopy__(self, memo: dict[int, Any]) -> Tail:
        return self  # bytes and offsets: immutable


EventDecoder = Callable[[bytes, int, int, int, int], Event]


class EventCodec:
    """Decoders of the event bodies of one file layout.

    ``lazy(buf, off, end, version, base)`` decodes the header and leaves the rest to the
    event's `Tail`; ``full`` decodes everything now. ``buf[off:end]`` is the body (after its
    section header of ``version``), ``base`` the stream offset of ``buf[0]``. Errors are
    `FormatError`s with absolute offsets.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        order = layout.order
        self._u16 = struct.Struct(order.prefix + "H").unpack_from
        self._head3 = struct.Struct(order.prefix + "QII").unpack_from
        body = s.event_body(18, layout.short_handles, not layout.headerless)
        self.min_body = s.min_event_body(not layout.headerless)
        # compiled when first needed: the native kernel decodes most tails itself
        self._tail: Callable[[bytes, int, int], tuple[Any, ...]] = self._compile_tail
        self._body = body
        self._head_cache: dict[bytes, tuple[str, str, str, str]] = {}
        self.lazy, self.full = self._compile_decoders(body)

    # ------------------------------------------------------------------ the tail

    def _compile_tail(self, buf: bytes, p: int, end: int) -> tuple[Any, ...]:
        layout = self.layout
        c = compiler(layout.order)
        self._tail = c.tail_decoder(self._body.tail, TABLES[layout.table], layout.describe())
        return self._tail(buf, p, end)

    def decode_tail(
        self, buf: bytes, p: int, end: int, base: int
    ) -> tuple[Params, list[tuple[str, str]], Process | None]:
        """Parameters, metadata and process section of the body that ends at ``end``."""
        try:
            return self._tail(buf, p, end)
        except FormatError as exc:
            raise exc.located(base=base) from None
        except (struct.error, IndexError, ValueError) as exc:  # a codec's own complaint
            raise Corrupt(f"event body does not decode ({exc})", offset=base + p) from None

    # ------------------------------------------------------------------ the head

    def _head_cut(self, off: int, base: int) -> Corrupt:
        return Corrupt(
            f"event header fields run past the end of the event body ({self.layout.describe()})",
            offset=base + off,
        )

    def _bad_version(self, version: int, off: int, base: int) -> Corrupt:
        return Corrupt(
            f"unknown event section version {version} (known: 1, 2)",
            offset=base + off - s.SECTION_SIZE + 1,
        )

    def _short(self, off: int, end: int, base: int) -> Corrupt:
        return Corrupt(
            f"event body of {end - off} bytes is shorter than the smallest possible event",
            offset=base + off,
        )

    def _shared(self, key: bytes) -> tuple[str, str, str, str]:
        """The shared head strings of these bytes (four ``str16``), cached by their bytes."""
        out = []
        p = 0
        for _ in range(4):
            (n,) = self._u16(key, p)
            out.append(key[p + 2 : p + 2 + n].decode("utf-8", "surrogateescape"))
            p += 2 + n
        strings = (out[0], out[1], out[2], out[3])
        if len(self._head_cache) >= _CACHE_LIMIT:
            self._head_cache.clear()
        self._head_cache[key] = strings
        return strings

    def _compile_decoders(self, body: s.EventBody) -> tuple[EventDecoder, EventDecoder]:
        """``lazy`` and ``full``, generated from the event layout with everything they use in
        local names: one event is a few dozen bytecodes."""
        fixed = body.head
        assert [f.node.op for f in fixed] == ["int", "int", "int", "raw", "int"], fixed
        codes = "".join(f.node.code for f in fixed[:3])  # seq, pid, tid
        lead = struct.calcsize("<" + codes)
        assert len(body.shared) == 4, body.shared
        ns = {
            "head3": struct.Struct(self.layout.order.prefix + codes).unpack_from,
            "u16": self._u16,
            "cache": self._head_cache,
            "shared": self._shared,
            "head_cut": self._head_cut,
            "bad_version": self._bad_version,
            "short": self._short,
            "width_of": {1: self.layout.ev1_width, 2: 18},
            "min_body": self.min_body,
            "from_tail": Event.from_tail,
            "from_parts": Event.from_parts,
            "new_tail": tuple.__new__,
            "Tail": Tail,
            "codec": self,
            "decode_tail": self.decode_tail,
            "Timestamp": Timestamp,
        }
        strings = "\n".join(
            "    p += 2 + u16(buf, p)[0]\n    if p + 2 > end: raise head_cut(off, base)"
            for _ in body.shared
        )
        head = f"""
    width = width_of.get(version)
    if width is None: raise bad_version(version, off, base)
    if end - off < min_body: raise short(off, end, base)
    seq, pid, tid = head3(buf, off)
    p = off + {lead} + width
    type_id = buf[off + {lead}:p]
    cpu = buf[p]
    p += 1
    a = p
    if p + 2 > end: raise head_cut(off, base)
{strings}
    key = buf[a:p]
    got = cache.get(key)
    name, category, description, host = got if got is not None else shared(key)
    (n,) = u16(buf, p)
    p += 2
    q = p + n
    if q > end: raise head_cut(off, base)
"""
        source = f"""
def lazy(buf, off, end, version, base):
{head}
    return from_tail(seq, pid, tid, type_id, cpu, name, category, description, host,
                     new_tail(Tail, (codec, buf, q, end, base, n)))

def full(buf, off, end, version, base):
{head}
    ts = Timestamp(buf[p:q].decode("utf-8", "surrogateescape"))
    params, meta, process = decode_tail(buf, q, end, base)
    return from_parts(seq, pid, tid, type_id, cpu, name, category, description, host, ts,
                      params, meta, process)
"""
        exec(compile(source, "<kcap event layout>", "exec"), ns)
        return ns["lazy"], ns["full"]  # type: ignore[return-value]  # generated functions


_codecs: dict[Layout, EventCodec] = {}


def event_codec(layout: Layout) -> EventCodec:
    """The codec of a layout, made once (its functions are compiled when it is made)."""
    got = _codecs.get(layout)
    if got is None:
        got = _codecs[layout] = EventCodec(layout)
    return got


__all__ = ["NAME", "Codec", "EventCodec", "Layout", "RecordCodec", "Tail", "cut", "record_codec"]
