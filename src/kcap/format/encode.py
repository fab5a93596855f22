"""Encoding events in the newest layout Fibratus reads (kcap-format.md §16).

Event section V2, 18-byte type ids, parameter table 2023c, process body V4, PE body V2. Values
Fibratus's reader cannot take are converted or left out, and every such change is counted in
`EncodeNotes` so a caller can report it:

* float and double parameters become unicode text (``repr`` of the value): the reader crashes on
  them whatever their width (§16.8);
* table-2020 sid / wbem sid account text becomes unicode text (§16.11);
* an empty binary sid / wbem sid is left out (turning it into text crashes Fibratus, §16.7);
* registry key, DOS path and handle type parameters are stored as unicode, as upstream does (Q3);
* argument and environment blocks are cut to what Fibratus's 16-bit counters can sum (§16.6).
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from kcap.errors import EncodeError
from kcap.format import sections as sec
from kcap.format.accel import speedups as _speedups
from kcap.format.handles import encode_str16
from kcap.format.params import NEWEST_WIRE, Codec
from kcap.format.process import EncodeNotes, encode_process
from kcap.model.catalogue import to_id18
from kcap.model.event import Event
from kcap.model.params import Param, ParamType
from kcap.model.timestamp import Timestamp

# The C accelerator encodes parameters of these types straight away; anything else (SIDs,
# floats, values that need converting or rejecting) goes through `EventEncoder._param`.
_C_WIRE = {
    t: (wire, int(codec))
    for t, (wire, codec) in NEWEST_WIRE.items()
    if t not in (ParamType.SID, ParamType.WBEM_SID)
}
_c_encode_tail = _speedups.encode_tail if _speedups is not None else None

MAX_BODY = 0xFFFFFFFF
_CACHE_LIMIT = 4096


class EventEncoder:
    """Encodes events to section header + body bytes. Caches repeated strings' encodings."""

    def __init__(self, prefix: str = "<") -> None:
        self.prefix = prefix
        self.notes = EncodeNotes()
        self._u16 = struct.Struct(prefix + "H").pack
        self._u32 = struct.Struct(prefix + "I").pack
        self._u64 = struct.Struct(prefix + "Q").pack
        self._head = struct.Struct(prefix + "QII").pack
        self._section = struct.Struct(prefix + "BBII").pack
        self._pname = struct.Struct(prefix + "HH").pack
        self._head_cache: dict[tuple[str, str, str, str], bytes] = {}
        self._name_cache: dict[tuple[str, int], bytes] = {}
        self._empty_process = self._section(sec.PROCESS, sec.PROCESS_V4, 0, 0)

    # ------------------------------------------------------------------ strings

    def _s16(self, value: str, field: str) -> bytes:
        data = value.encode("utf-8", "surrogateescape")
        if len(data) > 0xFFFF:
            raise EncodeError(
                f"{field} is {len(data)} bytes long; kcap strings hold at most 65535 bytes"
            )
        return self._u16(len(data)) + data

    def _head_strings(self, ev: Event) -> bytes:
        key = (ev.name, ev.category, ev.description, ev.host)
        got = self._head_cache.get(key)
        if got is None:
            got = b"".join(
                self._s16(s, f)
                for s, f in zip(key, ("event name", "category", "description", "host"))
            )
            if len(self._head_cache) >= _CACHE_LIMIT:
                self._head_cache.clear()
            self._head_cache[key] = got
        return got

    # ------------------------------------------------------------------ params

    def _param(self, p: Param) -> bytes | None:
        ptype = p.type
        value = p.value
        if ptype in (ParamType.FLOAT, ParamType.DOUBLE):
            self.notes.converted_params += 1
            ptype, value = ParamType.UNICODE, repr(float(value))
        elif ptype in (ParamType.SID, ParamType.WBEM_SID):
            if isinstance(value, str):
                self.notes.converted_params += 1
                ptype = ParamType.UNICODE
            elif not value:
                self.notes.dropped_params += 1
                return None
        try:
            wire, codec = NEWEST_WIRE[ptype]
        except KeyError:
            raise EncodeError(
                f"parameter {p.name!r} has type {ptype.name.lower()}, which has no encoding"
            ) from None
        key = (p.name, wire)
        head = self._name_cache.get(key)
        if head is None:
            nb = p.name.encode("utf-8", "surrogateescape")
            if len(nb) > 0xFFFF:
                raise EncodeError(f"parameter name of {len(nb)} bytes is too long")
            head = self._pname(wire, len(nb)) + nb
            if len(self._name_cache) >= _CACHE_LIMIT:
                self._name_cache.clear()
            self._name_cache[key] = head
        try:
            return head + self._value(codec, value, p)
        except (struct.error, TypeError, ValueError, AttributeError) as exc:
            raise EncodeError(
                f"parameter {p.name!r} ({ptype.name.lower()}): cannot encode {value!r}: {exc}"
            ) from None

    def _value(self, codec: Codec, value: Any, p: Param) -> bytes:
        pre = self.prefix
        if codec is Codec.STR16:
            return self._s16(value, f"parameter {p.name!r}")
        if codec is Codec.U32:
            return self._u32(value)
        if codec is Codec.U64:
            return self._u64(value)
        if codec is Codec.U8:
            return struct.pack("B", value)
        if codec is Codec.U16:
            return self._u16(value)
        if codec is Codec.TIME:
            text = value.text if isinstance(value, Timestamp) else str(value)
            return self._s16(text, f"parameter {p.name!r}")
        if codec is Codec.IPV4:
            return ipaddress.IPv4Address(value).packed
        if codec is Codec.IPV6:
            return ipaddress.IPv6Address(value).packed
        if codec is Codec.I32:
            return struct.pack(pre + "i", value)
        if codec is Codec.I64:
            return struct.pack(pre + "q", value)
        if codec is Codec.I8:
            return struct.pack("b", value)
        if codec is Codec.I16:
            return struct.pack(pre + "h", value)
        if codec is Codec.BOOL:
            return b"\x01" if value else b"\x00"
        if codec is Codec.BIN32:
            data = bytes(value)
            return self._u32(len(data)) + data
        if codec is Codec.SLICE:
            items = list(value)
            if len(items) > 0xFFFF:
                raise EncodeError(f"parameter {p.name!r}: slice of {len(items)} items is too long")
            if p.elem == "8":
                return b"8" + self._u16(len(items)) + struct.pack(f"{pre}{len(items)}Q", *items)
            return (
                b"s"
                + self._u16(len(items))
                + b"".join(self._s16(str(s), f"parameter {p.name!r}") for s in items)
            )
        raise EncodeError(f"parameter {p.name!r}: no encoding for {codec.name}")

    # ------------------------------------------------------------------ events

    def fast_tail(self, params: list[Param], meta: list[tuple[str, str]]) -> bytes | None:
        """Parameters and metadata by the C accelerator, or None when it is not built or when
        a value needs the Python path (a conversion, or a rejection with a message)."""
        if _c_encode_tail is None:
            return None
        return _c_encode_tail(params, meta, _C_WIRE, self.prefix == "<")

    def _tail(self, params: list[Param], meta: list[tuple[str, str]]) -> bytes:
        """Parameter count, parameters, metadata count and pairs (the Python way)."""
        encoded = [b for b in (self._param(p) for p in params) if b is not None]
        if len(encoded) > 0xFFFF:
            raise EncodeError(f"an event holds at most 65535 parameters, got {len(encoded)}")
        if len(meta) > 0xFFFF:
            raise EncodeError(f"an event holds at most 65535 metadata pairs, got {len(meta)}")
        parts = [self._u16(len(encoded)), *encoded, self._u16(len(meta))]
        for k, v in meta:
            parts.append(self._s16(k, "metadata key"))
            parts.append(self._s16(v, "metadata value"))
        return b"".join(parts)

    def encode(self, ev: Event) -> bytes:
        """Section header and body of one event."""
        try:
            return self._encode(ev)
        except (struct.error, OverflowError, TypeError, ValueError) as exc:
            raise EncodeError(f"event seq {ev.seq!r}: a header field does not fit: {exc}") from None

    def _encode(self, ev: Event) -> bytes:
        type_id = to_id18(ev.type)
        if len(type_id) != 18:
            raise EncodeError(f"event type id must be 17 or 18 bytes, got {len(ev.type)}")
        meta = ev.meta
        tail = self.fast_tail(ev.params.all(), meta)
        if tail is None:  # conversions, rejections with a message, or no accelerator
            tail = self._tail(ev.params.all(), meta)
        parts = [
            self._head(ev.seq, ev.pid, ev.tid),
            type_id,
            bytes((ev.cpu,)),
            self._head_strings(ev),
            self._s16(ev.timestamp.text, "timestamp"),
            tail,
        ]
        process = ev.process
        if process is not None:
            body = encode_process(process, self.prefix, self.notes)
            parts.append(self._section(sec.PROCESS, sec.PROCESS_V4, 0, len(body)))
            parts.append(body)
        else:
            parts.append(self._empty_process)
        body_bytes = b"".join(parts)
        if len(body_bytes) > MAX_BODY:
            raise EncodeError(f"event size overflow by {len(body_bytes) - MAX_BODY} bytes")
        return self._section(sec.EVENT, sec.EVENT_V2, 0, len(body_bytes)) + body_bytes


def encode_event(ev: Event, prefix: str = "<") -> bytes:
    return EventEncoder(prefix).encode(ev)


__all__ = ["EncodeNotes", "EventEncoder", "encode_event", "encode_str16"]
