"""The optional C accelerator (`_speedups.c`), loaded once and bound to the model classes.

`speedups` is None when the extension was not built (no compiler at install time) or when the
environment variable ``KCAP_PURE_PYTHON`` is set; every caller then uses its pure-Python path,
which gives the same results. The accelerator only ever handles well-formed input: at any
anomaly it hands back to Python, which reports the precise error.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
from collections.abc import Callable
from typing import Any

from kcap.model import event as event_module
from kcap.model import timestamp
from kcap.model.event import Event
from kcap.model.params import Param, Params
from kcap.model.process import AlpcInfo, FileInfo, Handle, MutantInfo, Process, UnknownInfo
from kcap.model.timestamp import Timestamp

speedups: Any
try:
    if os.environ.get("KCAP_PURE_PYTHON"):
        raise ImportError("disabled by KCAP_PURE_PYTHON")
    speedups = importlib.import_module("kcap.format._speedups")
    speedups.configure(
        Event, Param, Timestamp, Params, ipaddress.IPv4Address, ipaddress.IPv6Address
    )
    speedups.configure_handles(Handle, AlpcInfo, MutantInfo, FileInfo, UnknownInfo)
    speedups.configure_process(Process)
    timestamp._fast_parse = speedups.parse_time
    event_module._fast_stored_timestamp = speedups.stored_timestamp
except ImportError:
    speedups = None

#: True when the C accelerator is in use.
ACCELERATED = speedups is not None


def _install_lazy_slots() -> bool:
    """Put the C fast path of `kcap.model._accessors` in front of the model's lazy properties.

    Each property stays the fallback (unfilled values, assignment), so behaviour is unchanged;
    reading a filled attribute no longer runs Python code. False when the module is absent.
    """
    if speedups is None:
        return False
    try:
        lazy_slot = importlib.import_module("kcap.model._accessors").LazySlot
    except ImportError:
        return False

    def install(cls: type, name: str, slot: str, tail: str | None, loader: Any) -> None:
        prop = vars(cls)[name]
        prop = getattr(prop, "fallback", prop)  # idempotent if this module is reloaded
        tail_member = vars(cls)[tail] if tail is not None else None
        setattr(cls, name, lazy_slot(vars(cls)[slot], tail_member, loader, prop))

    install(Event, "timestamp", "_timestamp", None, speedups.stored_timestamp)
    install(Event, "params", "_params", None, None)
    install(Event, "meta", "_meta", None, None)
    # None is a real value of process once the tail is decoded (_tail is None)
    install(Event, "process", "_process", "_tail", None)
    install(Timestamp, "ns", "_ns", None, speedups.load_ns)
    return True


#: True when the model's lazy attributes have their C fast path.
FAST_ATTRIBUTES = _install_lazy_slots()


def handle_updaters(
    by_object: dict[int, Handle],
    names: tuple[str, ...],
    create_fallback: Callable[[Event], None],
    close_fallback: Callable[[Event], None],
    raw_tail: tuple[Any, tuple[Any, ...], bool],
) -> tuple[Callable[[Event], None], Callable[[Event], None]]:
    """CreateHandle/CloseHandle updaters of ``by_object`` that read an event's raw tail.

    They need no decoded parameters, so replay leaves those events lazy. Anything but the
    well-formed common case is passed to the fallbacks (the snapshotter's own handlers).
    """
    assert speedups is not None
    tail_fn, table, little = raw_tail
    create, close = speedups.handle_updaters(
        by_object, names, create_fallback, close_fallback, tail_fn, table, little
    )
    return create, close


def value_reader(
    raw_tail: tuple[Any, tuple[Any, ...], bool],
) -> Callable[[Event, tuple[str, ...]], tuple[object, ...] | None]:
    """``read(event, names)``: the first value of each named parameter (None where absent),
    found in the raw tail of an undecoded event of this layout without decoding it; None for
    an event it cannot read that way (damaged, built in code, carrying a process body)."""
    assert speedups is not None
    tail_fn, table, little = raw_tail
    read: Callable[[Event, tuple[str, ...]], tuple[object, ...] | None]
    read = speedups.value_reader(tail_fn, table, little)
    return read


def module_loaders(
    parts: Any, raw_tail: tuple[Any, tuple[Any, ...], bool]
) -> tuple[Callable[[Event], None], Callable[[Event], None]]:
    """LoadImage/ImageRundown updaters of a process snapshotter (``parts``: its
    `~kcap.state.process_parts.ImageUpdateParts`) that read an event's raw tail; anything but the
    common case goes to the snapshotter's own handlers."""
    assert speedups is not None
    tail_fn, table, little = raw_tail
    load, rundown = speedups.module_loaders(
        parts.module_cls,
        parts.index_cls,
        parts.procs,
        parts.indexes,
        parts.names,
        parts.on_load_image,
        parts.on_image_rundown,
        tail_fn,
        table,
        little,
    )
    return load, rundown


def thread_updater(
    parts: Any, raw_tail: tuple[Any, tuple[Any, ...], bool]
) -> Callable[[Event], None]:
    """The CreateThread/ThreadRundown update of a process snapshotter (``parts``: its
    `~kcap.state.process_parts.ThreadUpdateParts`) reading an event's raw tail; anything but the
    common case goes to the snapshotter's own handler."""
    assert speedups is not None
    tail_fn, table, little = raw_tail
    update: Callable[[Event], None] = speedups.thread_updater(
        parts.thread_cls, parts.procs, parts.names, parts.on_thread, tail_fn, table, little
    )
    return update
