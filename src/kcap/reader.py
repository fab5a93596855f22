"""Reader: open a capture, recover state, and replay its events.

The reader orchestrates: it opens the file, reads the header, detects the writer generation,
recovers the snapshotters from the handle section and hands the stream to the replay loop
(`kcap.replay`), which for each record in file order updates state, attaches it, drops
state-only events unless asked for and applies the filter (docs/engine.md). Unlike upstream,
iteration *ends* at the end of the capture.

Errors: a fatal error (bad magic, unreadable header, a stream cut inside a record, corrupt
compressed data) raises a `FormatError` after every complete event before it was yielded. A
non-fatal error (one event whose body does not decode: its length is known, so reading goes on
with the next; a state update that could not be applied) goes to ``on_error`` (default:
collected in `Reader.errors`).
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from kcap import engine as engines
from kcap.errors import FormatError, KcapError, LimitExceeded, OpenError, StateWarning, Truncated
from kcap.format.detect import TRIAL_EVENTS, Detection, detect
from kcap.format.framing import Decompressor
from kcap.format.header import ByteOrder, Header
from kcap.format.stream import DEFAULT_MAX_RECORD, RawEvent, RecordStream
from kcap.model.event import Event
from kcap.model.process import Handle

if TYPE_CHECKING:
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

Predicate = Callable[[Event], bool]
ErrorCallback = Callable[[KcapError], None]

_TRIAL_BYTES = 8 << 20
_MAX_KEPT_ERRORS = 1000


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Apply upstream's naming rule: a name without extension gets ``.kcap`` (or ``.cap``)."""
    p = Path(path)
    if p.suffix or _exists(p):
        return p
    kcap, cap = p.with_suffix(".kcap"), p.with_suffix(".cap")
    if not _exists(kcap) and _exists(cap):
        return cap
    return kcap


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except OSError:  # a name too long, a loop of links: not a file that opens
        return False


@dataclass
class ReadStats:
    events_read: int = 0  # records read (state-only included), built into events or not
    events_emitted: int = 0
    dropped_by_filter: int = 0
    state_only: int = 0
    errors: int = 0
    state_warnings: int = 0  # events the handle or process state could not take


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


class _StateWarnings:
    """The snapshotters' warning callback: counts each warning and hands it to ``on_error``.
    Not a method of the reader, which would make the reader and its snapshotters a reference
    cycle that keeps a closed reader's whole state alive until a full garbage collection."""

    __slots__ = ("on_error", "path", "stats")

    def __init__(self, stats: ReadStats, on_error: ErrorCallback, path: str) -> None:
        self.stats = stats
        self.on_error = on_error
        self.path = path

    def __call__(self, message: str) -> None:
        self.stats.state_warnings += 1
        self.on_error(StateWarning(message, path=self.path))


def _open_file(path: Path) -> BinaryIO:
    """The capture at ``path`` opened for reading, or `OpenError` saying why not."""
    name = str(path)
    try:
        if path.is_dir():
            raise OpenError(f"{name} is a directory, not a capture file", path=name)
        return path.open("rb")
    except FileNotFoundError:
        raise OpenError(f'"{name}" capture file does not exist', path=name) from None
    except PermissionError as exc:
        raise OpenError(
            f"cannot open {name}: {exc.strerror or 'Permission denied'} (the file may not be "
            "read by this user)",
            path=name,
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise OpenError(f"cannot open {name}: the file name is too long", path=name) from None
        raise OpenError(f"cannot open {name}: {exc.strerror or exc}", path=name) from None


class Reader:
    """A capture opened for reading. Use `kcap.open`; close it (or use ``with``).

    ``engine``: which build of kcap's sources decodes and replays (`kcap.engine`; the default
    one when None).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | BinaryIO,
        *,
        on_error: ErrorCallback | None = None,
        max_record: int = DEFAULT_MAX_RECORD,
        engine: engines.Engine | None = None,
    ) -> None:
        self.engine = engine or engines.default()
        self._owns_file = not hasattr(path, "read")
        if self._owns_file:
            self.path = resolve_path(path)  # type: ignore[arg-type]
            name = str(self.path)
            self._fh: BinaryIO = _open_file(self.path)
        else:
            self._fh = path  # type: ignore[assignment]
            name = str(getattr(path, "name", "<stream>"))
            self.path = Path(name)
        self.errors = ErrorLog()
        self._on_error: ErrorCallback = on_error or self.errors
        self.stats = ReadStats()
        self._decompressor = Decompressor(self._fh, name)
        kernel = self.engine.kernel
        self._stream = RecordStream(self._decompressor.parts(), name, max_record, kernel)
        self._filter: Predicate | None = None
        self._filter_kind_only = False
        self._hsnap: HandleSnapshotter | None = None
        self._psnap: ProcessSnapshotter | None = None
        self._detection: Detection | None = None
        self._trial: list[RawEvent] = []
        self._consumed = False
        self._unbuilt: Any = None  # the replay.Counts of the read, once it started
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
                return Header(0, 0, 0, ByteOrder.LITTLE, headerless=True)
            raise first from None

    def _looks_headerless(self) -> bool:
        """True when the stream decodes as the pre-release headerless layout."""
        probe = RecordStream([self._stream.peek(1 << 16)], str(self.path))
        header = Header(0, 0, 0, ByteOrder.LITTLE, headerless=True)
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
        headerless = self.header.headerless
        if not headerless:
            stream.read_handle_section()
            if stream.handles_dropped or stream.handles_repeated:
                self._on_error(
                    LimitExceeded(
                        f"the handle section repeats {stream.handles_repeated:,} record(s) of an "
                        "earlier one (each kept once), and holds "
                        f"{stream.handles_dropped:,} distinct record(s) beyond the "
                        f"{stream.max_handles:,} kcap keeps (left out of the state)",
                        path=str(self.path),
                    )
                )
        self._raw_iter = stream.headerless_events() if headerless else stream.events()
        trial, size = self._trial, 0
        self._trial_error: FormatError | None = None
        try:
            while len(trial) < TRIAL_EVENTS and size < _TRIAL_BYTES:
                # many sections at once where the native kernel can; one by one otherwise
                # (the stream then fills its buffer, or reports what is wrong)
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
        self._detection = detect(self.header, trial, stream.short_handles, self.engine.kernel)
        self._codec = self.engine.kernel.event_codec(self._detection.layout)

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
        if self._hsnap is None or self._psnap is None:
            self._prepare()
            state = self.engine.state
            warn = _StateWarnings(self.stats, self._on_error, str(self.path))
            self._hsnap = state.HandleSnapshotter(self._stream.handles, on_warning=warn)
            self._psnap = state.ProcessSnapshotter(self._hsnap, on_warning=warn)
        return self._hsnap, self._psnap

    def set_filter(self, flt: Predicate | str | None) -> None:
        """Keep only events for which ``flt`` is true; a string is a filter expression.

        State-only events asked for with ``read(include_state=True)`` are kept whatever the
        filter says: a capture written from a filtered read still rebuilds its state.
        """
        if isinstance(flt, str):
            from kcap.filter import compile as compile_filter

            flt = compile_filter(flt) if flt.strip() else None
        # A compiled Filter offers its bare predicate, which skips one call per event.
        self._filter = getattr(flt, "predicate", flt)
        self._filter_kind_only = bool(getattr(flt, "kind_only", False))

    # ------------------------------------------------------------------ reading

    def read(
        self, include_state: bool = False, lazy: bool = False, track_state: bool = True
    ) -> Iterator[Event]:
        """Replay the events in file order; the iterator ends at the end of the capture.

        A Reader reads its capture once: a second call raises `KcapError` (open the file again
        to re-read it). ``include_state`` also yields state-only events (rundowns), which
        copying, slicing and merging need to keep. With ``lazy`` the parameters, metadata and
        process section of an event are decoded only when accessed (a damaged one then raises
        `Corrupt` at that point instead of going to ``on_error``); use it when only header
        fields are needed. ``track_state=False`` skips the snapshotters altogether (no process
        state is attached, ``ps`` stays None): for tools that only count or copy.
        """
        replay = self.engine.replay.replay
        it: Iterator[Event] = replay(lambda: self._setup(include_state, lazy, track_state))
        return it

    def _setup(self, include_state: bool, lazy: bool, track_state: bool) -> Any:
        """Everything the replay loop needs (called when iteration starts)."""
        if self._consumed:
            raise KcapError("a capture can be read once per Reader; open it again to re-read")
        self._consumed = True
        self._prepare()
        snapshotters = self.recover_snapshotters()
        replay = self.engine.replay
        flt = self._filter
        # With a filter, an event's tail is decoded only after the filter passed (pushdown): a
        # filter on header fields never decodes the events it drops, unless state needs them.
        decode = not (lazy or flt is not None)
        plan = replay.Plan(
            snapshotters,
            track=track_state,
            include_state=include_state,
            decode=decode,
            flt=flt,
            kind_only=self._filter_kind_only,
        )
        self.plan = plan  # what this replay does with each kind (bounded tables)
        counts = self._unbuilt = replay.Counts()
        codec = self._codec
        assert self._detection is not None
        trial_events = list(self._detection.events)
        self._detection.events.clear()
        trial, self._trial = self._trial, []
        source = replay.batches(
            stream=self._stream,
            trial=trial,
            trial_events=trial_events,
            trial_error=self._trial_error,
            rest=self._raw_iter,
            decode=codec.full if decode else codec.lazy,
            # the native batch walks event sections; the headerless stream has none
            batch=None if self.header.headerless else getattr(codec, "batch", None),
            plan=plan,
            counts=counts,
        )

        def account(done: tuple[int, int, int, int]) -> None:
            read, emitted, state_only, dropped = done
            stats = self.stats
            # records the kernel left unbuilt were read: dropped by the filter, or state-only
            stats.events_read += read + counts.dropped + counts.skipped
            stats.events_emitted += emitted
            stats.state_only += state_only + counts.skipped
            stats.dropped_by_filter += dropped + counts.dropped

        return replay.Setup(
            source=source,
            infos=plan.infos,
            info_of=plan.info,
            procs=snapshotters[1].by_pid,
            filter=flt,
            verdicts=plan.verdicts,
            report=self._report,
            track=track_state,
            include_state=include_state,
            lazy=lazy,
            on_end=account,
        )

    @property
    def unbuilt(self) -> int:
        """Records of this read so far that the byte kernel skipped without building an event
        (of a kind a kind-only filter rejects, or state-only and not asked for). They still
        count in `stats` as read; this is the work saved, which depends on the engine: the
        pure one builds every event."""
        counts = self._unbuilt
        return 0 if counts is None else counts.dropped + counts.skipped

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
    engine: engines.Engine | None = None,
) -> Reader:
    """Open a capture for reading (see `Reader`): a path, or a binary file object."""
    return Reader(path, on_error=on_error, max_record=max_record, engine=engine)


__all__ = ["ErrorLog", "ReadStats", "Reader", "Truncated", "open", "resolve_path"]
