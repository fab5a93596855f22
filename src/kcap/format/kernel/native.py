"""The C byte kernel (``_native``), bound to the model and given the pure kernel as fallback.

Importing this module raises ImportError when the extension was not built (no compiler at
install time). Each decoder here tries the C kernel first and hands whatever it refuses (an
anomaly of any kind) to the pure twin, which decodes it or reports precisely what is wrong:
that hand-over is written once, here (docs/engine.md, "Two kernels").
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kcap.format import schema as s
from kcap.format.kernel import _native as C
from kcap.format.kernel import pure
from kcap.format.kernel.pure import Layout, RecordCodec
from kcap.format.params import CODEC_NODES, TABLES
from kcap.model.event import Event
from kcap.model.params import Param, Params
from kcap.model.timestamp import Timestamp

NAME = "native"


def _section_layout() -> tuple[int, int, int, int, int, int, int]:
    """Where the fields of a section header lie, from its declaration."""
    offsets = []
    at = 0
    for node in s.SECTION_HEADER:
        offsets.append(at)
        at += {"B": 1, "H": 2, "I": 4, "Q": 8}[node.code]
    type_at, version_at, count_at, size_at = offsets
    return (at, type_at, version_at, count_at, size_at, s.EVENT, s.PROCESS)


def _constructors() -> tuple[Any, ...]:
    """The compiled model's constructors of events and timestamps (capsules of the modules' C
    API), for the C kernel to call directly; Nones where the model runs as Python. The kernel
    checks each capsule's name, its C signature, before it uses one."""
    from kcap.model import event, timestamp

    events = getattr(event, "__pyx_capi__", {})
    times = getattr(timestamp, "__pyx_capi__", {})
    return (Event, events.get("_lazy_event"), events.get("_whole_event"), times.get("_stored"))


C.configure(
    Timestamp,
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    Param,
    Params,
    _section_layout(),
    _constructors(),
)
scan_sections = C.scan_sections


def record_codec(node: Any, order: s.ByteOrder) -> RecordCodec:
    """A declared structure: the C kernel's decoder, the pure one where it refuses."""
    fallback = pure.record_codec(node, order)
    program = _program(node, order)
    fast = program.decode
    slow = fallback.decode

    def decode(buf: bytes, p: int, end: int) -> tuple[Any, int]:
        if type(buf) is bytes:
            got: tuple[Any, int] | None = fast(buf, p, end)
            if got is not None:
                return got
        return slow(buf, p, end)

    return RecordCodec(decode, fallback.encode)


def record_run(node: Any, order: s.ByteOrder) -> Any:
    """``run(buf, p, count) -> (values, p_after, stopped)``: many records of ``node`` in one
    call, while they are complete and well formed (see ``_native.pyi``)."""
    return _program(node, order).run


_programs: dict[tuple[int, s.ByteOrder], tuple[Any, Any]] = {}


def _program(node: Any, order: s.ByteOrder) -> Any:
    """The C program of a node, compiled once (the node is kept alive with it)."""
    got = _programs.get((id(node), order))
    if got is None:
        got = _programs[(id(node), order)] = (C.program(node, order.little), node)
    return got[0]


class EventCodec(pure.EventCodec):
    """The event bodies of one layout: the C kernel, the pure one where it refuses; plus the
    C kernel's batch decoder and trial check, which only it has."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(layout)
        body = s.event_body(18, layout.short_handles, not layout.headerless)
        table = {w: (t, CODEC_NODES.get(c)) for w, (t, c) in TABLES[layout.table].items()}
        self.native = C.event_codec(
            body,
            table,
            layout.order.little,
            layout.ev1_width,
            self.min_body,
            Event,
            self.decode_tail,
        )
        self.batch = self.native.batch
        self.check_run = self.native.check_run
        self.lazy = self._either(self.native.lazy, self.lazy)
        self.full = self._either(self.native.full, self.full)

    @staticmethod
    def _either(fast: Any, slow: pure.EventDecoder) -> pure.EventDecoder:
        def decode(buf: bytes, off: int, end: int, version: int, base: int) -> Event:
            if type(buf) is bytes:
                ev: Event | None = fast(buf, off, end, version, base)
                if ev is not None:
                    return ev
            return slow(buf, off, end, version, base)

        return decode


_codecs: dict[Layout, EventCodec] = {}


def event_codec(layout: Layout) -> EventCodec:
    """The codec of a layout, made once."""
    got = _codecs.get(layout)
    if got is None:
        got = _codecs[layout] = EventCodec(layout)
    return got


def tail_encoder(wire: dict[Any, tuple[int, Any]], order: s.ByteOrder) -> Any:
    """The C encoder of parameter lists and metadata (``encode(params, meta) -> bytes | None``,
    None: the pure encoder decides)."""
    return C.tail_encoder(wire, order.little)


__all__ = ["NAME", "EventCodec", "event_codec", "record_codec", "record_run", "tail_encoder"]
