"""Loss counted in events: what the records the capture could not map would have become.

The kernel counts the records it could not reserve ring-buffer space for, per record kind, and
at the stop the capture may skip records it has no time left to map (docs/linux-capture.md,
"Loss"). Users care about events, so each kind of record is converted with the table of the
events its handler emits (`mapper.Mapper.routes`). A syscall makes an entry record and an exit
record, and its events come from the exit: a lost exit counts its events; a lost entry shows as
an exit without its entry, which counts the exit's events, at most as many times as entries of
that kind were lost (exits without entries also happen for syscalls that began before the
capture, and those are not loss). An open that failed would have made one event fewer than the
table says: lost events are the events the lost records would have made at most.
"""

from __future__ import annotations

from collections.abc import Mapping

from kcap.sources.linux.probes import probe_table


def _entry_to_exit() -> dict[int, int]:
    """Entry record kind -> the kind of its syscall's exit record."""
    exits = {p.syscall: p.kind for p in probe_table() if p.syscall is not None and p.is_exit}
    out: dict[int, int] = {}
    for p in probe_table():
        if p.syscall is not None and not p.is_exit and p.syscall in exits:
            out[p.kind] = exits[p.syscall]
    return out


class LossAccount:
    """Turns lost records into lost events, by event name."""

    def __init__(self, yields: Mapping[int, tuple[str, ...]]) -> None:
        #: record kind -> names of the events a record of that kind makes (exits, singles)
        self.yields = yields
        self.entry_exit = _entry_to_exit()
        self.records = 0  # kernel records lost, all kinds
        self.events: dict[str, int] = {}

    def total(self) -> int:
        return sum(self.events.values())

    def update(
        self,
        kernel: Mapping[int, int],
        unpaired: Mapping[int, int],
        skipped: Mapping[int, int],
    ) -> dict[str, int]:
        """Recompute from the cumulative counts: ``kernel`` records lost by kind, exits
        ``unpaired`` by kind, records ``skipped`` at the stop by kind. Returns the events lost
        since the last update, by name."""
        by_kind: dict[int, int] = {}
        entries_lost: dict[int, int] = {}  # by the kind of their exit
        for kind, n in kernel.items():
            exit_kind = self.entry_exit.get(kind)
            if exit_kind is None:
                by_kind[kind] = by_kind.get(kind, 0) + n
            else:
                entries_lost[exit_kind] = entries_lost.get(exit_kind, 0) + n
        for exit_kind, n in entries_lost.items():
            # a lost entry: its exit came unpaired (or was lost too, and is counted as such)
            paired = min(n, unpaired.get(exit_kind, 0))
            by_kind[exit_kind] = by_kind.get(exit_kind, 0) + paired
        for kind, n in skipped.items():
            if kind not in self.entry_exit:  # skipped entries' exits were skipped too
                by_kind[kind] = by_kind.get(kind, 0) + n
        self.records = sum(kernel.values())
        events: dict[str, int] = {}
        for kind, n in by_kind.items():
            for name in self.yields.get(kind, ()):
                events[name] = events.get(name, 0) + n
        delta = {
            name: n - self.events.get(name, 0)
            for name, n in events.items()
            if n > self.events.get(name, 0)
        }
        self.events = events
        return delta
