"""Reporting a filament's exceptions: the traceback and the event it failed on, then a count.

A filament that fails on every event must not bury the terminal: the first `DEFAULT_SHOWN`
exceptions of each hook are shown in full, the rest counted, and `summary` gives the totals per
hook at the end (docs/filaments.md, "When a filament raises").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from kcap.filaments.loader import exception_summary, format_exception
from kcap.model.event import Event

DEFAULT_SHOWN = 10
#: Longest event text shown with an exception, in characters.
_EVENT_TEXT_MAX = 2000


def event_label(ev: Event) -> str:
    """``event 1234 (RegOpenKey, pid 5496, tid 77, 2022-08-15T21:56:28.3434098Z)``."""
    return f"event {ev.seq} ({ev.name or '?'}, pid {ev.pid}, tid {ev.tid}, {ev.timestamp.text})"


def _shorten(text: str) -> str:
    if len(text) <= _EVENT_TEXT_MAX:
        return text
    return text[:_EVENT_TEXT_MAX] + f"... ({len(text) - _EVENT_TEXT_MAX:,} more characters)"


class FailureLog:
    """Counts a filament's exceptions per hook and shows the first ``shown`` of each hook's."""

    def __init__(self, filament: str, note: Callable[[str], Any], shown: int = DEFAULT_SHOWN):
        self.filament = filament
        self._note = note
        self.shown = shown
        self.counts: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(
        self,
        hook: str,
        exc: BaseException,
        *,
        event: Event | None = None,
        given: object = None,
    ) -> None:
        """Record one exception raised by ``hook``; ``given`` is what the hook was called with
        (the event dictionary), shown with the report."""
        self.counts[hook] += 1
        if self.counts[hook] > self.shown:
            if self.counts[hook] == self.shown + 1:
                self._note(
                    f"kcap: filament {self.filament}: {hook} keeps raising; further exceptions "
                    "are counted, not shown (--filament-strict stops at the first)"
                )
            return
        where = f" on {event_label(event)}" if event is not None else ""
        lines = [f"kcap: filament {self.filament}: {hook} raised {type(exc).__name__}{where}:"]
        lines.extend("  " + line for line in format_exception(exc))
        if given is not None:
            lines.append("  it was given: " + _shorten(repr(given)))
        self._note("\n".join(lines))

    def summary(self) -> str | None:
        """One line with the totals, or None when the filament never raised."""
        if not self.counts:
            return None
        parts = ", ".join(f"{n:,} in {hook}" for hook, n in self.counts.most_common())
        hidden = sum(max(0, n - self.shown) for n in self.counts.values())
        more = f"; {hidden:,} not shown" if hidden else ""
        return f"kcap: filament {self.filament}: {self.total:,} exception(s): {parts}{more}"


__all__ = ["DEFAULT_SHOWN", "FailureLog", "event_label", "exception_summary"]
