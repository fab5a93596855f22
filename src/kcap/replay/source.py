"""Where the replay loop's records come from: batches of a capture's event sections, decoded.

`batches` yields lists of records in file order: the events the generation trial decoded
already (never decoded twice), then the rest of the stream -- many sections per call of the
native kernel's batch decoder where it is there, one at a time through the codec otherwise. A
section that does not decode stands in its batch as its `FormatError`; a fatal error (the stream
cut inside a record) is raised after the batch of what was complete before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kcap.errors import FormatError
from kcap.format.stream import RawEvent, RecordStream
from kcap.model.event import Event

# Records per batch: small, so few events outlive a young-generation GC collection (large
# batches measured 2x slower through full collections).
BATCH = 32

Decode = Callable[..., Event]


def decode_one(raw: RawEvent, decode: Decode) -> Event | FormatError:
    """One raw section decoded, or the error it raised."""
    try:
        return decode(*raw)
    except FormatError as exc:
        return exc


def decode_each(raws: Iterable[RawEvent], decode: Decode) -> Iterator[Event | FormatError]:
    """Raw sections decoded one by one; a section that does not decode yields its error."""
    for raw in raws:
        yield decode_one(raw, decode)


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of up to ``size``; an error ending ``items`` (a cut file) comes after
    the list of what was complete before it."""
    while True:
        chunk: list[Any] = []
        try:
            for item in items:
                chunk.append(item)
                if len(chunk) == size:
                    break
        except FormatError:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


class Counts:
    """Sections the native kernel left unbuilt: dropped by the filter, state-only skipped."""

    __slots__ = ("dropped", "skipped")

    def __init__(self) -> None:
        self.dropped = 0
        self.skipped = 0


def batches(
    *,
    stream: RecordStream,
    trial: list[RawEvent],
    trial_events: list[Event | None],
    trial_error: FormatError | None,
    rest: Iterator[RawEvent],
    decode: Decode,
    batch: Any,
    plan: Any,
    counts: Counts,
) -> Iterator[list[Any]]:
    """The records of one replay, in batches (see the module docstring).

    ``trial`` and ``trial_events`` are emptied once their batch is made: this generator lives as
    long as the replay, and must not keep the trial's events and buffers alive with it."""
    first = [
        ev if ev is not None else decode_one(raw, decode)
        for ev, raw in zip(trial_events, trial, strict=False)
    ]
    rest_of_trial = trial[len(trial_events) :]
    trial.clear()
    trial_events.clear()
    yield first
    del first
    yield list(decode_each(rest_of_trial, decode))
    del rest_of_trial
    if trial_error is not None:
        raise trial_error
    if batch is None:
        yield from chunks(decode_each(rest, decode), BATCH)
        return
    actions, classify = plan.actions, plan.classify
    while stream.section_ready() is not None:
        # section_ready (which fills the buffer) only when the buffer ran out of sections
        while True:
            items, stream.pos, anomaly, (dropped, skipped) = batch(
                stream.buf, stream.pos, stream.base, BATCH, stream.max_record, actions, classify
            )
            counts.dropped += dropped
            counts.skipped += skipped
            if items:
                yield items
            if anomaly:
                # anything unusual: read the careful way, which reports it precisely
                raw = stream.next_event()
                if raw is not None:
                    yield [decode_one(raw, decode)]
                break
            if len(items) < BATCH:
                break
