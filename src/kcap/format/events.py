"""Decoding event bodies of every section version and writer generation (kcap-format.md §7, §8).

`make_event_decoder` builds, once per file, a set of closures specialised for that file's byte
order, parameter table and type-id width, so the per-event work is flat ``struct`` calls on one
buffer with no per-field dispatch through objects. The fixed header of an event (up to and
including the timestamp) is decoded eagerly; parameters, metadata and the process section are
decoded on first access (`Event.params`), so filters on header fields never pay for them.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from kcap.errors import Corrupt, FormatError
from kcap.format import sections as sec
from kcap.format.accel import speedups as _speedups
from kcap.format.params import TABLES, Codec
from kcap.format.process import read_process
from kcap.model.event import Event
from kcap.model.params import Param, Params
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp

#: Smallest possible event body: seq, pid, tid, 17-byte id, cpu, five empty strings, two
#: counts and the process section header.
MIN_BODY = 8 + 4 + 4 + 17 + 1 + 5 * 2 + 2 + 2 + sec.SECTION_SIZE

_CACHE_LIMIT = 4096
#: Sections larger than this go through the Python path (which applies the reader's limit).
MAX_C_RECORD = 64 << 20


class Layout(NamedTuple):
    """Everything that decides how one file's event bodies read."""

    prefix: str  # "<" or ">"
    table: str  # parameter table name, see kcap.format.params.TABLES
    ev1_width: int  # type-id width of sections labelled version 1 (18 in the Q1 period)
    short_handles: bool = False  # §12.2 pre-release variant
    headerless: bool = False  # §12.1: no process section at the end of bodies

    def describe(self) -> str:
        return f"param table {self.table}, {self.ev1_width}-byte type ids"


EventDecoder = Callable[[bytes, int, int, int, int], Event]
BatchDecoder = Callable[
    [bytes, int, int, bool, int, "frozenset[bytes] | None", Any],
    tuple[list[Event], int, bool, int, int],
]


#: (buf, body start, body end, section version, base): one raw event (format.stream.RawEvent)
RawSection = tuple[bytes, int, int, int, int]


class EventDecoders(NamedTuple):
    """Both take ``(buf, off, end, section_version, base)``: ``buf[off:end]`` is the body and
    ``base`` the absolute stream offset of ``buf[0]`` (used only in error messages)."""

    lazy: EventDecoder  # header now, the rest on first access
    full: EventDecoder  # everything now; errors raise here
    # batch(buf, pos, base, full, limit, eager, skip)
    #   -> (events, pos, anomaly, skipped, skipped state-only): the C accelerator's fast path
    # over many well-formed sections at once (``eager``: type ids decoded fully even when
    # ``full`` is false; ``skip``: None, or (type info, verdicts or None, include_state,
    # track_state) of the replay loop: events nobody receives are counted, not built, their
    # state change applied from the raw bytes); None when not available for this layout.
    batch: BatchDecoder | None = None
    # (tail_fn, c_table, little): how the accelerator reads a lazy event's raw tail, for state
    # updaters that need a few values without decoding the event; None without the accelerator.
    raw_tail: tuple[Any, tuple[Any, ...], bool] | None = None
    # check_run(raws, start) -> how many raw events from raws[start] on certainly decode
    # under this layout with a valid timestamp, in a row (decided without building them); the
    # next one must be decoded to find out. None without the accelerator.
    check_run: Callable[[list[RawSection], int], int] | None = None


def make_event_decoder(layout: Layout) -> EventDecoders:
    """Build the decoders specialised for one file's layout."""
    prefix = layout.prefix
    u16 = struct.Struct(prefix + "H").unpack_from
    u16u16 = struct.Struct(prefix + "HH").unpack_from
    u32 = struct.Struct(prefix + "I").unpack_from
    i32 = struct.Struct(prefix + "i").unpack_from
    u64 = struct.Struct(prefix + "Q").unpack_from
    i64 = struct.Struct(prefix + "q").unpack_from
    i16 = struct.Struct(prefix + "h").unpack_from
    f64 = struct.Struct(prefix + "d").unpack_from
    f32 = struct.Struct(prefix + "f").unpack_from
    head3 = struct.Struct(prefix + "QII").unpack_from
    section = struct.Struct(prefix + "BBII").unpack_from
    table = {wire: (ptype, int(codec)) for wire, (ptype, codec) in TABLES[layout.table].items()}
    ev1_width = layout.ev1_width
    headerless = layout.headerless
    short_handles = layout.short_handles
    min_body = MIN_BODY - (sec.SECTION_SIZE if headerless else 0)

    C_STR16 = int(Codec.STR16)
    C_U64 = int(Codec.U64)
    C_U32 = int(Codec.U32)
    C_U8 = int(Codec.U8)
    C_U16 = int(Codec.U16)
    C_I8 = int(Codec.I8)
    C_I16 = int(Codec.I16)
    C_I32 = int(Codec.I32)
    C_I64 = int(Codec.I64)
    C_F64 = int(Codec.F64)
    C_F32 = int(Codec.F32)
    C_BOOL = int(Codec.BOOL)
    C_BIN32 = int(Codec.BIN32)
    C_BIN16 = int(Codec.BIN16)
    C_IPV4 = int(Codec.IPV4)
    C_IPV6 = int(Codec.IPV6)
    C_TIME = int(Codec.TIME)
    C_SLICE = int(Codec.SLICE)

    head_cache: dict[bytes, tuple[str, str, str, str]] = {}
    name_cache: dict[bytes, str] = {}
    new_event = Event.__new__
    new_param = tuple.__new__

    def text(b: bytes) -> str:
        return b.decode("utf-8", "surrogateescape")

    c_table = tuple(
        None if (spec := table.get(wire)) is None else spec for wire in range(max(table) + 1)
    )
    little = prefix == "<"
    c_tail = _speedups.decode_tail if _speedups is not None else None

    def decode_tail(
        buf: bytes, p: int, end: int, base: int
    ) -> tuple[Params, list[tuple[str, str]], Process | None]:
        try:
            if c_tail is not None and not headerless:
                got = c_tail(buf, p, end, c_table, little)
                if got is not None:  # None: something unusual, which Python decodes and reports
                    params, meta, q = got
                    return params, meta, process_section(buf, q, end)
            return _decode_tail(buf, p, end)
        except FormatError as exc:
            raise exc.located(base=base) from None
        except (struct.error, IndexError, ValueError) as exc:
            raise Corrupt(f"event body does not decode ({exc})", offset=base + p) from None

    def _decode_tail(
        buf: bytes, p: int, end: int
    ) -> tuple[Params, list[tuple[str, str]], Process | None]:
        (count,) = u16(buf, p)
        p += 2
        by_name: dict[str, Param] = {}
        dups: list[Param] = []
        for _ in range(count):
            wire, nlen = u16u16(buf, p)
            p += 4
            nb = buf[p : p + nlen]
            p += nlen
            name = name_cache.get(nb)
            if name is None:
                name = text(nb)
                if len(name_cache) < _CACHE_LIMIT:
                    name_cache[nb] = name
            spec = table.get(wire)
            if spec is None:
                raise Corrupt(
                    f"parameter {name!r} has unknown type id {wire} ({layout.describe()})",
                    offset=p - nlen - 4,
                )
            ptype, codec = spec
            elem = None
            value: Any
            if codec == C_STR16:
                (n,) = u16(buf, p)
                value = buf[p + 2 : p + 2 + n].decode("utf-8", "surrogateescape")
                p += 2 + n
            elif codec == C_U64:
                (value,) = u64(buf, p)
                p += 8
            elif codec == C_U32:
                (value,) = u32(buf, p)
                p += 4
            elif codec == C_U8:
                value = buf[p]
                p += 1
            elif codec == C_U16:
                (value,) = u16(buf, p)
                p += 2
            elif codec == C_TIME:
                (n,) = u16(buf, p)
                value = Timestamp(buf[p + 2 : p + 2 + n].decode("utf-8", "surrogateescape"))
                p += 2 + n
            elif codec == C_IPV4:
                value = ipaddress.IPv4Address(buf[p : p + 4])
                p += 4
            elif codec == C_IPV6:
                value = ipaddress.IPv6Address(buf[p : p + 16])
                p += 16
            elif codec == C_I32:
                (value,) = i32(buf, p)
                p += 4
            elif codec == C_I64:
                (value,) = i64(buf, p)
                p += 8
            elif codec == C_I8:
                value = buf[p] - 256 if buf[p] > 127 else buf[p]
                p += 1
            elif codec == C_I16:
                (value,) = i16(buf, p)
                p += 2
            elif codec == C_BOOL:
                value = buf[p] != 0
                p += 1
            elif codec == C_BIN32:
                (n,) = u32(buf, p)
                if p + 4 + n > end:
                    raise Corrupt(
                        f"parameter {name!r}: binary value of {n} bytes runs past the event",
                        offset=p,
                    )
                value = bytes(buf[p + 4 : p + 4 + n])
                p += 4 + n
            elif codec == C_BIN16:
                (n,) = u16(buf, p)
                value = bytes(buf[p + 2 : p + 2 + n])
                p += 2 + n
            elif codec == C_F64:
                (value,) = f64(buf, p)
                p += 8
            elif codec == C_F32:
                (value,) = f32(buf, p)
                p += 4
            elif codec == C_SLICE:
                kind = buf[p]
                (n,) = u16(buf, p + 1)
                p += 3
                if kind == 0x73:  # 's'
                    items: list[Any] = []
                    for _ in range(n):
                        (sl,) = u16(buf, p)
                        items.append(buf[p + 2 : p + 2 + sl].decode("utf-8", "surrogateescape"))
                        p += 2 + sl
                        if p > end:
                            break
                    elem = "s"
                elif kind == 0x38:  # '8'
                    if p + 8 * n > end:
                        raise Corrupt(
                            f"parameter {name!r}: slice of {n} u64 values runs past the event",
                            offset=p,
                        )
                    items = list(struct.unpack_from(f"{prefix}{n}Q", buf, p))
                    p += 8 * n
                    elem = "8"
                else:
                    raise Corrupt(
                        f"parameter {name!r}: unknown slice element kind 0x{kind:02x}",
                        offset=p - 3,
                    )
                value = items
            else:
                raise Corrupt(
                    f"parameter {name!r} has type {ptype.name.lower()} (id {wire}), which "
                    "upstream's writer stores without a value, so the event cannot be decoded",
                    offset=p - nlen - 4,
                )
            if p > end:
                raise Corrupt(f"parameter {name!r} runs past the end of the event", offset=end)
            param = new_param(Param, (name, ptype, value, elem))
            if name in by_name:
                dups.append(param)
            else:
                by_name[name] = param
        (mcount,) = u16(buf, p)
        p += 2
        meta: list[tuple[str, str]] = []
        for _ in range(mcount):
            (kl,) = u16(buf, p)
            k = buf[p + 2 : p + 2 + kl].decode("utf-8", "surrogateescape")
            p += 2 + kl
            (vl,) = u16(buf, p)
            v = buf[p + 2 : p + 2 + vl].decode("utf-8", "surrogateescape")
            p += 2 + vl
            meta.append((k, v))
            if p > end:
                raise Corrupt("metadata runs past the end of the event", offset=end)
        return Params._from_dict(by_name, dups), meta, process_section(buf, p, end)

    def process_section(buf: bytes, p: int, end: int) -> Process | None:
        """The process section that closes an event body at ``p``; the body ends with it."""
        process: Process | None = None
        if not headerless:
            if p + sec.SECTION_SIZE > end:
                raise Corrupt("event body ends before its process section header", offset=p)
            stype, sver, _, size = section(buf, p)
            if stype != sec.PROCESS:
                raise Corrupt(
                    f"expected the process section header, found section type {stype}",
                    offset=p,
                )
            p += sec.SECTION_SIZE
            if size:
                if p + size > end:
                    raise Corrupt(
                        f"process body of {size} bytes runs past the end of the event "
                        f"({end - p} bytes remain)",
                        offset=p,
                    )
                process = read_process(buf, p, p + size, sver, prefix, short_handles)
                p += size
        if p != end:
            raise Corrupt(f"{end - p} byte(s) left over at the end of the event body", offset=p)
        return process

    def head(buf: bytes, off: int, end: int, version: int, base: int) -> tuple[Event, int]:
        """Decode the fixed header; return the event and the offset of its parameter count."""
        if version == 2:
            width = 18
        elif version == 1:
            width = ev1_width
        else:
            raise Corrupt(
                f"unknown event section version {version} (known: 1, 2)", offset=base + off - 9
            )
        if end - off < min_body:
            raise Corrupt(
                f"event body of {end - off} bytes is shorter than the smallest possible event",
                offset=base + off,
            )
        try:
            seq, pid, tid = head3(buf, off)
            p = off + 16
            type_id = buf[p : p + width]
            p += width
            cpu = buf[p]
            p += 1
            a = p
            (n,) = u16(buf, p)
            p += 2 + n
            (n,) = u16(buf, p)
            p += 2 + n
            (n,) = u16(buf, p)
            p += 2 + n
            (n,) = u16(buf, p)
            p += 2 + n
            key = buf[a:p]
            strings = head_cache.get(key)
            if strings is None:
                strings = _split_head(key)
                if len(head_cache) >= _CACHE_LIMIT:
                    head_cache.clear()
                head_cache[key] = strings
            (n,) = u16(buf, p)
            ts = Timestamp(buf[p + 2 : p + 2 + n].decode("utf-8", "surrogateescape"))
            p += 2 + n
        except (struct.error, IndexError) as exc:
            raise Corrupt(f"event header does not decode ({exc})", offset=base + off) from None
        if p > end:
            raise Corrupt(
                f"event header fields run past the end of the event body ({layout.describe()})",
                offset=base + off,
            )
        ev = new_event(Event)
        ev.seq = seq
        ev.pid = pid
        ev.tid = tid
        ev.cpu = cpu
        ev.type = type_id
        ev.name, ev.category, ev.description, ev.host = strings
        ev.timestamp = ts
        ev.ps = None
        return ev, p

    def decode(buf: bytes, off: int, end: int, version: int, base: int) -> Event:
        ev, p = head(buf, off, end, version, base)
        ev._params = None
        ev._meta = None
        ev._process = None
        ev._tail = (decode_tail, buf, p, end, base)
        return ev

    def decode_full(buf: bytes, off: int, end: int, version: int, base: int) -> Event:
        ev, p = head(buf, off, end, version, base)
        ev._params, ev._meta, ev._process = decode_tail(buf, p, end, base)
        ev._tail = None
        return ev

    def _split_head(key: bytes) -> tuple[str, str, str, str]:
        out = []
        p = 0
        for _ in range(4):
            (n,) = u16(key, p)
            out.append(key[p + 2 : p + 2 + n].decode("utf-8", "surrogateescape"))
            p += 2 + n
        return out[0], out[1], out[2], out[3]

    batch = None
    if _speedups is not None and not headerless:
        c_batch = _speedups.decode_batch
        head_strings: dict[bytes, tuple[str, str, str, str, bytes]] = {}

        def process_body(buf: bytes, p: int, end: int, version: int) -> Process:
            return read_process(buf, p, end, version, prefix, short_handles)

        def batch(
            buf: bytes,
            pos: int,
            base: int,
            full: bool,
            limit: int,
            eager: frozenset[bytes] | None,
            skip: Any,
        ) -> tuple[list[Event], int, bool, int, int]:
            return c_batch(
                buf,
                pos,
                base,
                MAX_C_RECORD,
                ev1_width,
                little,
                c_table,
                head_strings,
                full,
                decode_tail,
                process_body,
                limit,
                eager,
                skip,
            )

    raw_tail = (decode_tail, c_table, little) if batch is not None else None
    full: EventDecoder = decode_full
    lazy: EventDecoder = decode
    check_run = None
    if _speedups is not None and not headerless:
        c_one = _speedups.decode_event
        c_check_run = _speedups.check_run

        def accelerated(python: EventDecoder, decode_all: bool) -> EventDecoder:
            """The accelerator for a well-formed body; ``python`` decodes (and reports) the
            rest."""

            def one(buf: bytes, off: int, end: int, version: int, base: int) -> Event:
                if type(buf) is bytes:
                    ev: Event | None = c_one(
                        buf, off, end, version, ev1_width, little, c_table, head_strings,
                        decode_tail, process_body, decode_all, base,
                    )  # fmt: skip
                    if ev is not None:
                        return ev
                return python(buf, off, end, version, base)

            return one

        full, lazy = accelerated(decode_full, True), accelerated(decode, False)

        def check_run(raws: list[RawSection], start: int) -> int:
            vouched: int = c_check_run(raws, start, ev1_width, little, c_table)
            return vouched

    return EventDecoders(lazy, full, batch, raw_tail, check_run)
