"""Alerts a filament raises with `emit_alert`: one shape, shown on stderr, kept as JSON lines.

Upstream hands a filament's alert to whichever alert senders its configuration enables (mail,
Slack, ...), and during replay to none at all. kcap has no senders: every alert, in replay as
live, is shown as one line on stderr and, with ``--alerts FILE``, appended to FILE as one JSON
object per line (docs/filaments.md, "Alerts").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

#: The severity words upstream understands (exactly these spellings); anything else is low.
_SEVERITY_WORDS = {
    "normal": "low",
    "Normal": "low",
    "NORMAL": "low",
    "low": "low",
    "LOW": "low",
    "medium": "medium",
    "Medium": "medium",
    "MEDIUM": "medium",
    "high": "high",
    "High": "high",
    "HIGH": "high",
    "critical": "critical",
    "Critical": "critical",
    "CRITICAL": "critical",
}


def severity_of(value: object) -> str:
    """``low``, ``medium``, ``high`` or ``critical`` for what a filament passed as severity."""
    if value is None:
        return "low"
    return _SEVERITY_WORDS.get(str(value), "low")


def tags_of(value: object) -> list[str]:
    """The tags of an alert: a list whose items that are not strings become empty strings."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"emit_alert(): tags must be a list of strings, not {type(value).__name__}")
    return [item if isinstance(item, str) else "" for item in value]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. ``seq`` and ``timestamp`` (as the capture stores it) are those of the event
    being delivered when the alert was raised, None outside the per-event hook."""

    filament: str
    title: str
    text: str
    severity: str = "low"
    tags: list[str] = field(default_factory=list)
    hook: str = ""
    seq: int | None = None
    timestamp: str | None = None

    def line(self) -> str:
        """The alert as one readable line (no newline)."""
        tags = f" [{', '.join(self.tags)}]" if self.tags else ""
        where = f" (event {self.seq})" if self.seq is not None else ""
        head = f"kcap: alert: {self.filament}: {self.severity}"
        return f"{head}: {self.title}: {self.text}{tags}{where}"

    def json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class TextOut(Protocol):
    """Where JSON lines go: anything with ``write`` and ``flush`` (a text file, stdout)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class AlertSink:
    """Shows every alert with ``show`` (a line writer) and writes it to ``jsonl`` if given."""

    def __init__(self, show: Callable[[str], None], jsonl: TextOut | None = None) -> None:
        self._show = show
        self._jsonl = jsonl
        self.count = 0

    def __call__(self, alert: Alert) -> None:
        self.count += 1
        self._show(alert.line())
        if self._jsonl is not None:
            # backslashreplace: a filament's text may hold lone surrogates from binary data
            self._jsonl.write(alert.json().encode("utf-8", "backslashreplace").decode() + "\n")
            self._jsonl.flush()


def collect(into: list[Alert]) -> Callable[[Alert], Any]:
    """A sink that only keeps the alerts (for library use and tests)."""
    return into.append


__all__ = ["Alert", "AlertSink", "TextOut", "collect", "severity_of", "tags_of"]
