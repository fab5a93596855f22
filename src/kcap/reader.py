"""Reader: open a capture, recover state, and replay its events.

The replay pipeline per event, in file order (snapshotters.md §1, filter.md §1.2):
decode -> update handle and process state -> attach process state -> drop state-only events
-> filter -> yield. Unlike upstream, iteration *ends* at the end of the capture.

Errors: a fatal error (bad magic, unreadable header, a stream cut inside a record, corrupt
compressed data) raises a `FormatError` after every complete event before it was yielded. A
non-fatal error (one event whose body does not decode; its length is known, so reading goes on
with the next) goes to ``on_error`` (default: collected in `Reader.errors`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from kcap.errors import FormatError, KcapError, Truncated
from kcap.format.accel import speedups as _speedups
from kcap.format.detect import TRIAL_EVENTS, Detection, detect
from kcap.format.events import make_event_decoder
from kcap.format.framing import Decompressor
from kcap.format.header import Header
from kcap.format.stream import DEFAULT_MAX_RECORD, RawEvent, RecordStream
from kcap.model.catalogue import catalogue, lookup
from kcap.model.event import Event
from kcap.model.process import Handle
from kcap.replay import ReplayLoop, TypeInfo, batches, decode_each, decode_one, state_twins

if TYPE_CHECKING:
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

Predicate = Callable[[Event], bool]
ErrorCallback = Callable[[KcapError], None]

_TRIAL_BYTES = 8 << 20
# Events per accelerated call: small, so few events outlive a young-generation GC collection
# (large batches measured 2x slower through full collections).
_BATCH = 32
_MAX_KEPT_ERRORS = 1000


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Apply upstream's naming rule: a name without extension gets ``.kcap`` (or ``.cap``)."""
    p = Path(path)
    if p.suffix or p.exists():
        return p
    kcap, cap = p.with_suffix(".kcap"), p.with_suffix(".cap")
    if not kcap.exists() and cap.exists():
        return cap
    return kcap


@dataclass
class ReadStats:
    events_read: int = 0  # records read (state-only included), built into events or not
    events_emitted: int = 0
    dropped_by_filter: int = 0
    state_only: int = 0
    errors: int = 0
    state_warnings: int = 0  # events the handle or process state could not take


_NOTHING: TypeInfo = ((), False, False, False)


@dataclass
class ErrorLog:
    """Non-fatal errors, the first ``limit`` kept, all counted."""

    limit: int = _MAX_KEPT_ERRORS
    count: int = 0
    kept: list[KcapError] = field(default_factory=list)

    def __call__(self, err: KcapError) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(err)


class Reader:
    """A capture opened for reading. Use `kcap.open`; close it (or use ``with``)."""

    def __init__(
        self,
        path: str | os.PathLike[str] | BinaryIO,
        *,
        on_error: ErrorCallback | None = None,
        max_record: int = DEFAULT_MAX_RECORD,
    ) -> None:
        self._owns_file = not hasattr(path, "read")
        if self._owns_file:
            self.path = resolve_path(path)  # type: ignore[arg-type]
            name = str(self.path)
            if not self.path.exists():
                raise FormatError(f'"{name}" capture file does not exist')
            if self.path.is_dir():
                raise FormatError(f"{name} is a directory, not a capture file")
            try:
                self._fh: BinaryIO = self.path.open("rb")
            except OSError as exc:
                raise FormatError(f"cannot open {name}: {exc.strerror}") from None
        else:
            self._fh = path  # type: ignore[assignment]
            name = str(getattr(path, "name", "<stream>"))
            self.path = Path(name)
        self.errors = ErrorLog()
        self._on_error: ErrorCallback = on_error or self.errors
        self.stats = ReadStats()
        self._decompressor = Decompressor(self._fh, name)
        self._stream = RecordStream(self._decompressor.parts(), name, max_record)
        self._filter: Predicate | None = None
        self._filter_kind_only = False
        self._verdicts: dict[Any, bool] | None = None
        self._skipped = self._skipped_state_only = 0
        self._include_state = False
        self._hsnap: HandleSnapshotter | None = None
        self._psnap: ProcessSnapshotter | None = None
        self._detection: Detection | None = None
        self._trial: list[RawEvent] = []
        self._consumed = False
        self._track_state = True
        self._type_info: dict[bytes, TypeInfo] = {}
        self._raw_handlers: dict[Callable[[Event], None], Callable[[Event], None]] | None = None
        try:
            self.header: Header = self._read_header()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening

    def _read_header(self) -> Header:
        try:
            return self._stream.read_header()
        except FormatError as first:
            if self._stream.offset == 0 and self._looks_headerless():
                return Header(0, 0, 0, "little", headerless=True)
            raise first from None

    def _looks_headerless(self) -> bool:
        """True when the stream decodes as the §12.1 pre-release layout."""
        probe = RecordStream([self._stream.peek(1 << 16)], str(self.path))
        header = Header(0, 0, 0, "little", headerless=True)
        try:
            trial = [r for _, r in zip(range(50), probe.headerless_events())]
        except FormatError:
            return False
        return bool(trial) and detect(header, trial).decoded == len(trial)

    def _prepare(self) -> None:
        """Read the handle section and detect the writer generation (once)."""
        if self._detection is not None:
            return
        stream = self._stream
        if not self.header.headerless:
            stream.read_handle_section()
        headerless = self.header.headerless
        self._raw_iter = stream.headerless_events() if headerless else stream.events()
        trial, size = self._trial, 0
        self._trial_error: FormatError | None = None
        try:
            while len(trial) < TRIAL_EVENTS and size < _TRIAL_BYTES:
                # many sections at once where the accelerator can; one by one otherwise (the
                # stream then fills its buffer, or reports what is wrong)
                run, got = (
                    ([], 0)
                    if headerless
                    else stream.event_run(TRIAL_EVENTS - len(trial), _TRIAL_BYTES - size)
                )
                if not run:
                    raw = next(self._raw_iter, None)
                    if raw is None:
                        break
                    run, got = [raw], raw[2] - raw[1]
                trial += run
                size += got
        except FormatError as exc:  # raised again, in order, after the trial events
            self._trial_error = exc
        self._detection = detect(self.header, self._trial, stream.short_handles)
        self._decoders = make_event_decoder(self._detection.layout)

    @property
    def detection(self) -> Detection:
        self._prepare()
        assert self._detection is not None
        return self._detection

    @property
    def handles(self) -> list[Handle]:
        """The handle snapshot stored after the header."""
        self._prepare()
        return self._stream.handles

    # ------------------------------------------------------------------ state and filter

    def recover_snapshotters(self) -> tuple[HandleSnapshotter, ProcessSnapshotter]:
        """Build the handle and process snapshotters from the capture's handle section."""
        from kcap.state import HandleSnapshotter, ProcessSnapshotter

        if self._hsnap is None or self._psnap is None:
            self._prepare()
            self._hsnap = HandleSnapshotter(self._stream.handles, on_warning=self._state_warning)
            self._psnap = ProcessSnapshotter(self._hsnap, on_warning=self._state_warning)
        return self._hsnap, self._psnap

    def _state_warning(self, message: str) -> None:
        self.stats.state_warnings += 1

    def set_filter(self, flt: Predicate | str | None) -> None:
        """Keep only events for which ``flt`` is true; a string is a filter expression."""
        if isinstance(flt, str):
            from kcap.filter import compile as compile_filter

            flt = compile_filter(flt) if flt.strip() else None
        # A compiled Filter offers its bare predicate, which skips one call per event.
        self._filter = getattr(flt, "predicate", flt)
        self._filter_kind_only = bool(getattr(flt, "kind_only", False))

    # ------------------------------------------------------------------ reading

    def _decoded(self, decode: Callable[..., Event]) -> Iterator[Sequence[Event | FormatError]]:
        """Batches of events in file order; a section that did not decode is its error.

        The events the generation trial already decoded are handed over, not decoded again.
        """
        if self._consumed:
            raise KcapError("a capture can be read once per Reader; open it again to re-read")
        self._consumed = True
        assert self._detection is not None
        pre = self._detection.events
        yield [
            ev if ev is not None else decode_one(raw, decode)
            for ev, raw in zip(pre, self._trial, strict=False)
        ]
        yield list(decode_each(self._trial[len(pre) :], decode))
        self._trial = []
        self._detection.events.clear()
        if self._trial_error is not None:
            raise self._trial_error
        batch = self._decoders.batch
        if batch is None:
            yield from batches(decode_each(self._raw_iter, decode), _BATCH)
            return
        # The accelerated path: many sections per call. A section it does not take (anything
        # unusual) goes through the Python decoder, which reports it precisely.
        stream = self._stream
        full = decode is self._decoders.full
        eager = None if full else self._eager_types(self._track_state)
        # Events nobody receives (a kind the filter rejected; state-only ones unless included)
        # are not even built: their state change, if any, is applied from the raw bytes.
        verdicts, include_state = self._verdicts, self._include_state
        skip = (
            None
            if verdicts is None and include_state
            else (self._type_info, verdicts, include_state, self._track_state)
        )
        while stream.section_ready() is not None:
            # section_ready (which fills the buffer) only when the buffer ran out of sections
            while True:
                events, stream.pos, anomaly, skipped, skipped_state_only = batch(
                    stream.buf, stream.pos, stream.base, full, _BATCH, eager, skip
                )
                self._skipped += skipped
                self._skipped_state_only += skipped_state_only
                if events:
                    yield events
                if anomaly:
                    raw = stream.next_event()
                    if raw is not None:
                        yield list(decode_each((raw,), decode))
                    break
                if len(events) < _BATCH:
                    break

    def _eager_types(self, track_state: bool) -> frozenset[bytes]:
        """Known type ids (both widths) whose events change state or carry a process body,
        so are decoded at once (only the latter when state is not tracked)."""
        out = set()
        for id18 in catalogue():
            for tid in (id18, id18[:16] + id18[17:]) if id18[16] == 0 else (id18,):
                _, _, carries_process, needs_decoded = self._info(tid)
                if carries_process or (needs_decoded and track_state):
                    out.add(tid)
        return frozenset(out)

    def _raw_twins(self) -> dict[Callable[[Event], None], Callable[[Event], None]]:
        """Snapshotter handlers -> accelerated twins that read the raw tail (when available).

        The handle snapshotter's two updaters are nearly half of all records in a Windows
        capture; their twins leave those events undecoded. The process snapshotter's thread
        and image updates get the accelerator's value reader instead. Empty without it.
        """
        if self._raw_handlers is None:
            raw_tail = self._decoders.raw_tail
            hsnap, psnap = self.recover_snapshotters()
            self._raw_handlers = {} if raw_tail is None else state_twins(hsnap, psnap, raw_tail)
        return self._raw_handlers

    def _info(self, type_id: bytes) -> TypeInfo:
        info = self._type_info.get(type_id)
        if info is None:
            hsnap, psnap = self.recover_snapshotters()
            twins = self._raw_twins()
            handlers = tuple(
                twins.get(h, h)
                for h in (hsnap.handler(type_id), psnap.handler(type_id))
                if h is not None
            )
            et = lookup(type_id)
            info = (
                handlers,
                bool(et and et.state_only),
                bool(et and et.name in ("CreateProcess", "ProcessRundown")),
                # Handlers that find their values in the raw bytes leave the event undecoded.
                any(h not in twins.values() and not psnap.reads_raw(h) for h in handlers),
            )
            # Garbage ids of a damaged file must not grow the cache without bound.
            if len(type_id) in (17, 18) and (len(self._type_info) < 4096 or info != _NOTHING):
                self._type_info[type_id] = info
        return info

    def read(
        self, include_state: bool = False, lazy: bool = False, track_state: bool = True
    ) -> Iterator[Event]:
        """Replay the events in file order; the iterator ends at the end of the capture.

        ``include_state`` also yields state-only events (rundowns), which conversion, slicing
        and merging need to keep. With ``lazy`` the parameters, metadata and process section of
        an event that does not change state are decoded only when accessed (a damaged one then
        raises `Corrupt` at that point instead of going to ``on_error``); use it when only
        header fields are needed. ``track_state=False`` skips the snapshotters altogether (no
        process state is attached, ``ps`` stays None): for tools that only count or copy.
        """
        if _speedups is not None:
            # Started on the first next(), like a generator, but without a generator frame
            # between each event and its consumer.
            start = partial(self._replay, include_state, lazy, track_state)
            events: Iterator[Event] = _speedups.deferred(start)
            return events
        return self._generate(include_state, lazy, track_state)

    def _generate(self, include_state: bool, lazy: bool, track_state: bool) -> Iterator[Event]:
        yield from self._replay(include_state, lazy, track_state)

    def _replay(self, include_state: bool, lazy: bool, track_state: bool) -> Iterator[Event]:
        """Set up the replay loop (`read`'s iterator starts it on its first next())."""
        self._prepare()
        _, psnap = self.recover_snapshotters()
        self._track_state = track_state
        flt = self._filter
        # With a filter, an event's tail is decoded only after the filter passed (pushdown): a
        # filter on header fields never decodes the events it drops, unless state needs them.
        defer = lazy or flt is not None
        decode = self._decoders.lazy if defer else self._decoders.full
        # A filter on the kind of event is decided once per kind, in this dict.
        self._verdicts = {} if flt is not None and self._filter_kind_only else None
        self._skipped = self._skipped_state_only = 0
        self._include_state = include_state
        source = self._decoded(decode)
        make_loop = ReplayLoop if _speedups is None else _speedups.replay_loop
        loop: Iterable[Event] = make_loop(
            source,
            self._type_info,
            self._info,
            psnap.by_pid,
            flt,
            self._report,
            FormatError,
            defer,
            track_state,
            include_state,
            lazy,
            self._verdicts,
            self._account,
        )
        return iter(loop)

    def _account(self, counts: tuple[int, int, int, int]) -> None:
        """Add a finished (or abandoned) replay's counts to `stats`."""
        read, emitted, state_only, dropped = counts
        stats = self.stats
        # events the decoder left unbuilt were read and dropped by the filter
        # and state-only events left unbuilt were read (and dropped when they were included)
        unbuilt_state_only = self._skipped_state_only
        stats.events_read += read + self._skipped + unbuilt_state_only
        stats.events_emitted += emitted
        stats.state_only += state_only + unbuilt_state_only
        stats.dropped_by_filter += dropped + self._skipped
        if self._include_state:
            stats.dropped_by_filter += unbuilt_state_only

    async def aread(
        self, include_state: bool = False, lazy: bool = False, batch: int = 512
    ) -> AsyncIterator[Event]:
        """The async twin of `read`: decoding runs in a worker thread, in batches."""
        it = self.read(include_state=include_state, lazy=lazy)

        def next_batch() -> list[Event]:
            return [ev for _, ev in zip(range(batch), it)]

        while True:
            events = await asyncio.to_thread(next_batch)
            for ev in events:
                yield ev
            if len(events) < batch:
                return

    def _report(self, exc: FormatError) -> None:
        self.stats.errors += 1
        if exc.path is None:
            exc = exc.located(path=str(self.path))
        self._on_error(exc)

    # ------------------------------------------------------------------ facts

    @property
    def compressed_size(self) -> int:
        """Compressed bytes: the file size, or what was consumed of a stream."""
        if self._owns_file and self.path.is_file():
            return self.path.stat().st_size
        return self._decompressor.compressed_bytes  # a pipe or stream: what was read of it

    @property
    def raw_bytes(self) -> int:
        """Decompressed bytes produced so far (all of them once reading has finished)."""
        return self._stream.offset

    @property
    def terminated(self) -> bool:
        """False when the zstd frame was never closed (the writer died or is still writing)."""
        return self._decompressor.terminated

    def close(self) -> None:
        if self._owns_file:
            self._fh.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    on_error: ErrorCallback | None = None,
    max_record: int = DEFAULT_MAX_RECORD,
) -> Reader:
    """Open a capture for reading (see `Reader`): a path, or a binary file object."""
    return Reader(path, on_error=on_error, max_record=max_record)


__all__ = ["ErrorLog", "ReadStats", "Reader", "Truncated", "open", "resolve_path"]
