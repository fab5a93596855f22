"""Running a started filament over the events of a capture.

Per record, in file order: the interval clock sees its time (state-only rundowns included: the
clock starts at the capture's first record), the ticks now due run, then, unless the record is
state-only, the filter decides and the filament gets the event. After the last record one more
tick runs. A tick therefore never depends on what the filter keeps. See docs/filaments.md,
"The interval clock".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.errors import FormatError, KcapError
from kcap.filaments.clock import CLOCKS, CaptureClock, WallClock
from kcap.filaments.runner import FilamentRun
from kcap.model.catalogue import lookup
from kcap.reader import Reader

#: Records between two calls of ``on_progress``.
PROGRESS_EVERY = 8192


@dataclass
class ReplayResult:
    """How a replay under a filament ended."""

    delivered: int = 0
    ticks: int = 0
    skipped_ticks: int = 0  # ticks the capture clock skipped over an implausible jump
    reached_end: bool = False
    error: KcapError | None = None  # the fatal error that stopped reading, if any


def replay(
    reader: Reader,
    run: FilamentRun,
    *,
    filter: Callable[[Any], bool] | None = None,
    limit: int | None = None,
    clock: str = "capture",
    on_damaged: Callable[[FormatError], Any] | None = None,
    on_progress: Callable[[int, int], Any] | None = None,
) -> ReplayResult:
    """Hand the events of ``reader`` to ``run``; ``filter`` applies when the filament set
    none (the filament's own filter replaces it, as upstream). ``limit`` stops after that many
    delivered events. Events whose parameters turn out damaged go to ``on_damaged``;
    ``on_progress(records read, events delivered)`` is called every `PROGRESS_EVERY` records."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {CLOCKS}")
    result = ReplayResult()
    flt = run.filter if run.filter is not None else filter
    predicate = getattr(flt, "predicate", flt)
    interval = run.interval
    capture_clock = CaptureClock(interval) if interval and clock == "capture" else None
    wall_clock = WallClock(interval) if interval and clock == "wall" else None
    state_only: dict[bytes, bool] = {}
    deliver, tick = run.deliver, run.tick
    path = str(reader.path)
    n = records = 0
    if limit == 0:
        result.reached_end = False
    else:
        try:
            for ev in reader.read(include_state=True, lazy=True):
                records += 1
                if on_progress is not None and not records % PROGRESS_EVERY:
                    on_progress(records, n)
                if capture_clock is not None:
                    due = capture_clock.advance(ev.timestamp.ns)
                    while due:
                        tick()
                        due -= 1
                elif wall_clock is not None and wall_clock.due():
                    tick()
                kind = ev.type
                only_state = state_only.get(kind)
                if only_state is None:
                    et = lookup(kind)
                    only_state = state_only[kind] = bool(et is not None and et.state_only)
                if only_state:
                    continue
                try:
                    if predicate is not None and not predicate(ev):
                        continue
                    deliver(ev)
                except FormatError as exc:  # this event's tail is damaged: skip it
                    if on_damaged is not None:
                        on_damaged(exc if exc.path else exc.located(path=path))
                    continue
                n += 1
                if limit is not None and n >= limit:
                    break
            else:
                result.reached_end = True
        except FormatError as exc:
            result.error = exc
    if interval:
        tick()  # the final tick, after the last event
    result.delivered = n
    result.ticks = run.ticks
    if capture_clock is not None:
        result.skipped_ticks = capture_clock.skipped
    return result


__all__ = ["CLOCKS", "PROGRESS_EVERY", "ReplayResult", "replay"]
