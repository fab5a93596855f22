"""Running a started filament on this machine's live kernel events (``kcap capture -f``).

As ``fibratus run -f``: the events go to the filament only (no capture file is written), the
filament's filter replaces the command-line one, state-only events (the process rundown of the
start) feed process state but are not delivered, and ``on_interval`` runs on the wall clock,
also while no event arrives. One more tick runs when the capture stops, then ``on_stop``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcap.filaments.clock import WallClock
from kcap.filaments.runner import FilamentRun
from kcap.model.catalogue import lookup
from kcap.model.event import Event

if TYPE_CHECKING:
    from kcap.sources.linux.session import CaptureConfig


@dataclass
class LiveResult:
    delivered: int = 0
    ticks: int = 0
    records: int = 0  # kernel records read
    lost: int = 0  # events the kernel dropped
    duration: float = 0.0
    stopped_by: str = "duration"


def run_live(
    run: FilamentRun,
    config: CaptureConfig,
    *,
    duration: float | None = None,
    filter: Callable[[Any], bool] | None = None,
    stop: threading.Event | None = None,
    ready: Callable[[], Any] | None = None,
) -> LiveResult:
    """Capture until ``duration`` elapses, ``stop`` is set, SIGINT or SIGTERM, handing the
    events to ``run``. Raises `CaptureError` when capture cannot start."""
    from kcap.sources.linux.session import LiveSource, relaxed_gc, stop_on_signals

    stop = stop or threading.Event()
    result = LiveResult()
    flt = run.filter if run.filter is not None else filter
    predicate = getattr(flt, "predicate", flt)
    clock = WallClock(run.interval) if run.interval else None
    state_only: dict[bytes, bool] = {}
    seq = 0

    def sink(ev: Event) -> None:
        nonlocal seq
        seq += 1
        ev.seq = seq
        if clock is not None and clock.due():
            run.tick()
        only_state = state_only.get(ev.type)
        if only_state is None:
            et = lookup(ev.type)
            only_state = state_only[ev.type] = bool(et is not None and et.state_only)
        if only_state or (predicate is not None and not predicate(ev)):
            return
        run.deliver(ev)

    with stop_on_signals(stop), relaxed_gc():
        source = LiveSource(config)
        source.open()
        try:
            for ev in source.rundown():
                sink(ev)
            source.set_sink(sink)
            if ready is not None:
                ready()
            t0 = time.monotonic()
            deadline = t0 + duration if duration is not None else None
            while not stop.is_set():
                n = source.poll()
                if clock is not None and clock.due():
                    run.tick()
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if n == 0:
                    stop.wait(config.poll_interval)
            if stop.is_set():
                result.stopped_by = "signal"
            result.duration = time.monotonic() - t0
            source.stop()
            assert source.mapper is not None
            result.records = source.mapper.stats.records
            result.lost = source.lost
        finally:
            source.close()
    if run.interval:
        run.tick()
    result.delivered = run.delivered
    result.ticks = run.ticks
    return result


__all__ = ["LiveResult", "run_live"]
