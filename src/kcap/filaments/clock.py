"""When a filament's ``on_interval`` runs: on the capture's own time, or on the wall clock.

Upstream calls ``on_interval`` every ``interval()`` seconds of wall-clock time, so a replay's
ticks depend on how fast the machine reads. kcap's replay ticks on *capture time* instead, which
makes every replay of a file give the same output (docs/filaments.md, "The interval clock"):

* the clock starts at the timestamp of the capture's first record (rundowns included) and then
  follows the highest timestamp seen so far: captures go backwards by seconds at times (events
  are written per CPU buffer), and a clock that went back would tick twice for one instant;
* a tick falls at every whole interval from the start: ``start + k * interval`` for k = 1, 2 ...
  Each tick runs before the first event whose timestamp reaches it, so the filament has seen
  exactly the events before that instant;
* one more tick runs after the last event (upstream's final frame also comes from a tick after
  the capture was consumed);
* timestamps that do not parse, and Go's zero time, do not move the clock;
* a jump of more than `MAX_CATCH_UP` intervals at once (a damaged timestamp far in the future)
  runs one tick, not that many: the others are skipped and counted in ``skipped``, and the
  ticks after it keep their phase.

`WallClock` ticks on elapsed real time, as upstream does (``--filament-clock wall`` and live
capture).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kcap.model.timestamp import ZERO_NS

#: The clocks a replay's ticks can follow (``--filament-clock``).
CLOCKS = ("capture", "wall")

#: The most ticks one step of the capture clock runs (a day of one-second intervals).
MAX_CATCH_UP = 86_400

_NS = 1_000_000_000


class CaptureClock:
    """Ticks every ``interval`` seconds of capture time (see the module docstring)."""

    __slots__ = ("_next", "interval_ns", "skipped", "start", "time")

    def __init__(self, interval: int) -> None:
        if interval <= 0:
            raise ValueError("the interval must be at least one second")
        self.interval_ns = interval * _NS
        self.start: int | None = None  # epoch ns of the first record
        self.time: int | None = None  # the highest epoch ns seen
        self._next = 0  # epoch ns of the next tick
        self.skipped = 0

    def advance(self, ns: int) -> int:
        """See a record's time (UTC epoch ns); return how many ticks are now due."""
        if ns <= ZERO_NS:
            return 0
        if self.start is None:
            self.start = self.time = ns
            self._next = ns + self.interval_ns
            return 0
        if ns < self._next:
            if ns > self.time:  # type: ignore[operator]
                self.time = ns
            return 0
        self.time = ns
        due = (ns - self._next) // self.interval_ns + 1
        self._next += due * self.interval_ns
        if due > MAX_CATCH_UP:
            self.skipped += due - 1
            return 1
        return due


class WallClock:
    """Ticks every ``interval`` seconds of elapsed real time, counted from its creation."""

    __slots__ = ("_next", "_now", "interval_ns", "skipped")

    def __init__(self, interval: int, now: Callable[[], int] = time.monotonic_ns) -> None:
        if interval <= 0:
            raise ValueError("the interval must be at least one second")
        self.interval_ns = interval * _NS
        self._now = now
        self._next = now() + self.interval_ns
        self.skipped = 0

    def due(self) -> int:
        """How many ticks are due now: 0 or 1. Ticks missed while the filament was busy are
        dropped, as upstream's timer drops them (no burst of calls to catch up)."""
        now = self._now()
        if now < self._next:
            return 0
        late = (now - self._next) // self.interval_ns
        self.skipped += late
        self._next += (late + 1) * self.interval_ns
        return 1


__all__ = ["CLOCKS", "MAX_CATCH_UP", "CaptureClock", "WallClock"]
