"""Encoding events in the newest layout Fibratus reads (docs/format.md, "Writing").

Event section V2, 18-byte type ids, parameter table 2023c, process body V4, PE body V2: the
layouts of `kcap.format.schema`, encoded by the byte kernel. What Fibratus's reader cannot take
is adapted first (`kcap.format.adapt`), and every change is counted in `EncodeNotes`.
"""

from __future__ import annotations

import struct
from types import ModuleType
from typing import Any

from kcap.errors import EncodeError
from kcap.format import schema as s
from kcap.format.adapt import EncodeNotes, newest_param, newest_process
from kcap.format.kernel import pure
from kcap.format.params import CODEC_NODES, NEWEST_WIRE
from kcap.model.catalogue import to_id18
from kcap.model.event import Event
from kcap.model.params import Param, ParamType

MAX_BODY = 0xFFFFFFFF
_CACHE_LIMIT = 4096

#: The writer's parameter table: logical type -> (wire id, node of the value).
WIRE_NODES = {t: (wire, CODEC_NODES[codec]) for t, (wire, codec) in NEWEST_WIRE.items()}
#: The part of it the native kernel encodes straight away; SIDs need `newest_param` first.
_DIRECT = {
    t: spec for t, spec in WIRE_NODES.items() if t not in (ParamType.SID, ParamType.WBEM_SID)
}


class EventEncoder:
    """Encodes events to section header + body bytes, caching the encodings of repeated
    strings and parameter names. ``kernel``: the byte kernel module (default: pure)."""

    def __init__(self, order: s.ByteOrder = s.ByteOrder.LITTLE, kernel: ModuleType = pure) -> None:
        self.order = order
        self.notes = EncodeNotes()
        prefix = order.prefix
        self._u16 = struct.Struct(prefix + "H").pack
        body = s.event_body(18)
        head_codes = "".join(f.node.code for f in body.head[:3])
        self._head = struct.Struct(prefix + head_codes).pack
        self._section = struct.Struct(prefix + s.SECTION_CODE).pack
        self._pname = struct.Struct(prefix + "HH").pack
        c = pure.compiler(order)
        self._values = {t: c.encoder(node) for t, (_, node) in WIRE_NODES.items()}
        self._process = c.encoder(s.process_body(s.PROCESS_V4))
        self._head_cache: dict[tuple[str, str, str, str], bytes] = {}
        self._name_cache: dict[tuple[str, int], bytes] = {}
        self._empty_process = self._section(s.PROCESS, s.PROCESS_V4, 0, 0)
        make_fast = getattr(kernel, "tail_encoder", None)
        self._fast = make_fast(_DIRECT, order).encode if make_fast is not None else None

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
                self._s16(text, field)
                for text, field in zip(key, ("event name", "category", "description", "host"))
            )
            if len(self._head_cache) >= _CACHE_LIMIT:
                self._head_cache.clear()
            self._head_cache[key] = got
        return got

    # ------------------------------------------------------------------ params

    def _param(self, p: Param) -> bytes | None:
        adapted = newest_param(p, self.notes)
        if adapted is None:
            return None
        ptype, value = adapted
        spec = WIRE_NODES.get(ptype)
        if spec is None:
            raise EncodeError(
                f"parameter {p.name!r} has type {ptype.name.lower()}, which has no encoding"
            )
        wire = spec[0]
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
        if ptype is ParamType.SLICE:
            value = (list(value), p.elem or "s")
        try:
            return head + self._values[ptype](value)
        except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise EncodeError(
                f"parameter {p.name!r} ({ptype.name.lower()}): cannot encode {value!r}: {exc}"
            ) from None

    def tail(self, params: list[Param], meta: list[tuple[str, str]]) -> bytes:
        """Parameter count, parameters, metadata count and pairs."""
        if self._fast is not None:
            got: bytes | None = self._fast(params, meta)
            if got is not None:
                return got
        encoded = [b for b in (self._param(p) for p in params) if b is not None]
        if len(encoded) > 0xFFFF:
            raise EncodeError(f"an event holds at most 65535 parameters, got {len(encoded)}")
        if len(meta) > 0xFFFF:
            raise EncodeError(f"an event holds at most 65535 metadata pairs, got {len(meta)}")
        parts = [self._u16(len(encoded)), *encoded, self._u16(len(meta))]
        for pair in meta:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise EncodeError(f"a metadata entry must be a (key, value) pair, got {pair!r}")
            k, v = pair
            if not isinstance(k, str) or not isinstance(v, str):
                raise EncodeError(f"metadata keys and values must be text, got {pair!r}")
            parts.append(self._s16(k, "metadata key"))
            parts.append(self._s16(v, "metadata value"))
        return b"".join(parts)

    # ------------------------------------------------------------------ events

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
        parts = [
            self._head(ev.seq, ev.pid, ev.tid),
            type_id,
            bytes((ev.cpu,)),
            self._head_strings(ev),
            self._s16(ev.timestamp.text, "timestamp"),
            self.tail(ev.params.all(), ev.meta),
        ]
        process = ev.process
        if process is not None:
            body = self.process_body(process)
            parts.append(self._section(s.PROCESS, s.PROCESS_V4, 0, len(body)))
            parts.append(body)
        else:
            parts.append(self._empty_process)
        body_bytes = b"".join(parts)
        if len(body_bytes) > MAX_BODY:
            raise EncodeError(f"event size overflow by {len(body_bytes) - MAX_BODY} bytes")
        return self._section(s.EVENT, s.EVENT_V2, 0, len(body_bytes)) + body_bytes

    def process_body(self, process: Any) -> bytes:
        """A V4 process body, adapted for Fibratus, without its section header."""
        try:
            return self._process(newest_process(process, self.notes))
        except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise EncodeError(
                f"process {getattr(process, 'pid', '?')}: cannot encode: {exc}"
            ) from None


def encode_event(ev: Event, order: s.ByteOrder = s.ByteOrder.LITTLE) -> bytes:
    return EventEncoder(order).encode(ev)


def encode_handles(handles: list[Any], order: s.ByteOrder = s.ByteOrder.LITTLE) -> bytes:
    """Handle records with their u16 lengths, as in the snapshot section."""
    enc = pure.compiler(order).encoder(s.PREFIXED_HANDLE)
    try:
        return b"".join(enc(h) for h in handles)
    except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise EncodeError(f"a handle record cannot be encoded: {exc}") from None


__all__ = ["EncodeNotes", "EventEncoder", "encode_event", "encode_handles"]
