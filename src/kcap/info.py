"""What a capture holds, in one pass: the figures behind ``kcap info``.

`summarize` reads a capture once, with state-only events included (a capture's rundowns are
part of what it holds). Every event is decoded in full, as replay decodes it, so that the
"errors" it counts are the events replay would skip (a damaged parameter is found only by
decoding it); process and handle state is not rebuilt, which makes it about as fast as a
header-only pass. Everything here is data; printing belongs to the CLI.

A capture damaged part-way is summarized up to the damage: the header and sizes when the
handle section is damaged, every event before it when an event section is.

File order is not time order (events from different CPUs interleave), so the time range has
both the first and last timestamp *in file order* and the earliest and latest *instant*;
timestamps are kept as the text the capture stores.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcap.errors import FormatError, KcapError
from kcap.model import lookup
from kcap.model.timestamp import ZERO_NS, Timestamp
from kcap.reader import Reader

#: Non-fatal error messages kept in a summary (all are counted).
MAX_ERROR_MESSAGES = 20
#: Distinct values kept per histogram; a damaged or hostile file could otherwise make every
#: event's name (or host...) distinct and the summary as large as the capture.
MAX_DISTINCT = 1000
#: The histogram key under which values beyond `MAX_DISTINCT` are counted.
OTHER = "(other values)"


@dataclass
class TimeRange:
    """Timestamps as stored. ``first``/``last`` in file order, ``earliest``/``latest`` by instant.

    Timestamps that say nothing about when the event happened are left out of
    ``earliest``/``latest`` and counted in ``unknown``: text that does not parse, and Go's zero
    time (``0001-01-01T00:00:00Z``), which writers store for "not known".
    """

    first: str | None = None
    last: str | None = None
    earliest: str | None = None
    latest: str | None = None
    unknown: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "min": self.earliest,
            "max": self.latest,
            "unknown": self.unknown,
        }


@dataclass
class SeqRange:
    """Event sequence numbers: first/last in file order, min/max by value."""

    first: int | None = None
    last: int | None = None
    min: int | None = None
    max: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "min": self.min, "max": self.max}


@dataclass
class CaptureSummary:
    """Everything ``kcap info`` reports about one capture."""

    path: str
    format_version: str
    generation: str
    byte_order: str
    flags: int
    compressed_size: int
    raw_size: int
    terminated: bool
    events: int  # every event record: state-only (rundown) events and skipped ones included
    state_events: int  # state-only events: they feed replay state and are not replayed
    handles: int  # records in the handle snapshot after the header
    processes: int  # events whose process section has a non-empty body
    time: TimeRange = field(default_factory=TimeRange)
    seq: SeqRange = field(default_factory=SeqRange)
    names: dict[str, int] = field(default_factory=dict)  # recorded names, most frequent first
    types: dict[str, int] = field(default_factory=dict)  # canonical names from the type ids
    categories: dict[str, int] = field(default_factory=dict)  # recorded categories
    hosts: dict[str, int] = field(default_factory=dict)
    handle_types: dict[str, int] = field(default_factory=dict)
    errors: int = 0  # non-fatal: events that could not be decoded and were skipped, as replay
    error_messages: list[str] = field(default_factory=list)
    fatal: KcapError | None = None  # what stopped reading early (a truncated file...), if any

    @property
    def ratio(self) -> float | None:
        """Decompressed bytes per compressed byte (None for an empty file)."""
        return self.raw_size / self.compressed_size if self.compressed_size else None

    @property
    def replayed_events(self) -> int:
        """The events ``kcap replay`` prints without a filter."""
        return self.events - self.state_events - self.errors

    @property
    def complete(self) -> bool:
        return self.fatal is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the schema of ``kcap info --json``)."""
        ratio = self.ratio
        return {
            "path": self.path,
            "format_version": self.format_version,
            "generation": self.generation,
            "byte_order": self.byte_order,
            "flags": self.flags,
            "compressed_size": self.compressed_size,
            "raw_size": self.raw_size,
            "ratio": None if ratio is None else round(ratio, 3),
            "terminated": self.terminated,
            "complete": self.complete,
            "fatal_error": None if self.fatal is None else str(self.fatal),
            "events": self.events,
            "state_events": self.state_events,
            "replayed_events": self.replayed_events,
            "handles": self.handles,
            "processes": self.processes,
            "time": self.time.to_dict(),
            "seq": self.seq.to_dict(),
            "names": dict(self.names),
            "types": dict(self.types),
            "categories": dict(self.categories),
            "hosts": dict(self.hosts),
            "handle_types": dict(self.handle_types),
            "errors": self.errors,
            "error_messages": list(self.error_messages),
        }


def _count(counter: Counter[Any], key: Any) -> None:
    """``counter[key] += 1``, lumping new keys into `OTHER` once `MAX_DISTINCT` are held."""
    if key in counter or len(counter) < MAX_DISTINCT:
        counter[key] += 1
    else:
        counter[OTHER] += 1


def _by_count(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first; ties by name so the output is stable."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _type_label(type_id: bytes) -> str:
    et = lookup(type_id)
    return et.name if et is not None and et.name else f"unknown type {type_id.hex()}"


#: What `CaptureSummary.generation` says when the capture is damaged before its events.
UNKNOWN_GENERATION = "unknown (the capture is damaged before its first event)"


def summarize(
    path: str | os.PathLike[str],
    *,
    on_error: Callable[[KcapError], None] | None = None,
) -> CaptureSummary:
    """Read the capture at ``path`` once and return its summary.

    Errors that make the file unreadable from the start (missing file, not zstd, bad magic, a
    damaged header) raise `FormatError`. An error that stops reading later (a damaged handle
    section, a truncated file) does not raise: the summary covers what was read before it
    (the header, the sizes, every event before the damage) and holds the error in ``fatal``.
    Events that cannot be decoded are skipped and counted in ``errors`` (and passed to
    ``on_error`` when given): exactly the events ``kcap replay`` would skip.
    """
    errors: list[str] = []
    error_count = 0

    def note_error(exc: KcapError) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_ERROR_MESSAGES:
            errors.append(str(exc))
        if on_error is not None:
            on_error(exc)

    with Reader(path, on_error=note_error) as reader:
        header = reader.header
        try:
            generation = reader.detection.generation  # reads the handle section, trial events
            handles = reader.handles
        except FormatError as exc:  # damaged before the first event: the header is all there is
            return CaptureSummary(
                path=str(reader.path),
                format_version=header.version,
                generation=UNKNOWN_GENERATION,
                byte_order=header.order.label,
                flags=header.flags,
                compressed_size=reader.compressed_size,
                raw_size=reader.raw_bytes,
                terminated=reader.terminated,
                events=0,
                state_events=0,
                handles=0,
                processes=0,
                fatal=exc,
            )
        names: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        hosts: Counter[str] = Counter()
        type_counts: Counter[bytes | str] = Counter()
        time = TimeRange()
        seq = SeqRange()
        decoded = processes = 0
        min_ns = max_ns = 0
        min_seq = max_seq = 0
        last_ts: Timestamp | None = None
        last_seq = 0
        fatal: KcapError | None = None
        try:
            # Decoded in full, as replay decodes them, so that an event replay would skip is
            # skipped (and counted) here too; without state tracking, which only replay needs.
            for ev in reader.read(include_state=True, track_state=False):
                decoded += 1
                _count(names, ev.name)
                _count(categories, ev.category)
                _count(hosts, ev.host)
                _count(type_counts, ev.type)
                if ev.process is not None:
                    processes += 1
                ts = ev.timestamp
                if decoded == 1:
                    time.first = ts.text
                    seq.first = min_seq = max_seq = ev.seq
                last_ts = ts
                last_seq = s = ev.seq
                if s < min_seq:
                    min_seq = s
                elif s > max_seq:
                    max_seq = s
                ns = ts.ns
                if ns != ZERO_NS:  # unparsable text also reads as the zero time
                    if time.earliest is None:
                        min_ns = max_ns = ns
                        time.earliest = time.latest = ts.text
                    elif ns < min_ns:
                        min_ns, time.earliest = ns, ts.text
                    elif ns > max_ns:
                        max_ns, time.latest = ns, ts.text
                else:
                    time.unknown += 1
        except KcapError as exc:
            fatal = exc
        if decoded:
            assert last_ts is not None
            time.last = last_ts.text
            seq.last, seq.min, seq.max = last_seq, min_seq, max_seq
        types: Counter[str] = Counter()
        for key, n in type_counts.items():
            types[key if isinstance(key, str) else _type_label(key)] += n
        handle_types: Counter[str] = Counter()
        for h in handles:
            _count(handle_types, h.type)
        return CaptureSummary(
            path=str(reader.path),
            format_version=header.version,
            generation=generation,
            byte_order=header.order.label,
            flags=header.flags,
            compressed_size=reader.compressed_size,
            raw_size=reader.raw_bytes,
            terminated=reader.terminated,
            events=decoded + error_count,
            state_events=reader.stats.state_only,
            handles=len(handles),
            processes=processes,
            time=time,
            seq=seq,
            names=_by_count(names),
            types=_by_count(types),
            categories=_by_count(categories),
            hosts=_by_count(hosts),
            handle_types=_by_count(handle_types),
            errors=error_count,
            error_messages=errors,
            fatal=fatal,
        )


__all__ = [
    "MAX_DISTINCT",
    "MAX_ERROR_MESSAGES",
    "OTHER",
    "UNKNOWN_GENERATION",
    "CaptureSummary",
    "SeqRange",
    "TimeRange",
    "summarize",
]
