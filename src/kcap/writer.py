"""Writer: record events into a capture in the newest layout Fibratus reads.

``new_writer`` writes the 2.0 header and the handle section from the handle snapshotter, then
each event (`write`, `write_all`, `write_from_queue`). A background flusher ends the current
zstd block every ``flush_period`` seconds, so a reader of the growing file sees every event older
than one period, and a writer killed abruptly leaves a file that replays up to the last flush.

Write errors (an event that cannot be encoded, a failing disk) are reported to ``on_error`` and
counted; the writer keeps going with the next event, as upstream does. `close` ends the frame
and returns the statistics upstream prints.
"""

from __future__ import annotations

import os
import queue as queue_mod
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from kcap import engine as engines
from kcap.errors import CaptureError, EncodeError, KcapError
from kcap.format import schema as sec
from kcap.format.adapt import EncodeNotes
from kcap.format.encode import EventEncoder, encode_handles
from kcap.format.framing import Compressor
from kcap.format.header import encode_header
from kcap.model.catalogue import lookup
from kcap.model.event import Event
from kcap.model.process import Handle

if TYPE_CHECKING:
    from kcap.state import HandleSnapshotter, ProcessSnapshotter

#: Put this on a queue given to `Writer.write_from_queue` to make it return.
STOP = object()

_BATCH_BYTES = 256 << 10


@dataclass
class Config:
    """Writer settings. ``flush_period`` in seconds (upstream: fixed at 1 s)."""

    flush_period: float = 1.0
    compression_level: int = 3


@dataclass
class WriterStats:
    """What upstream prints as "Capture Statistics" when a capture ends, and a bit more."""

    file: str = ""
    events: int = 0  # excluding state-only events, as upstream counts
    state_events: int = 0
    bytes: int = 0  # uncompressed event bodies, state-only included
    processes: int = 0  # CreateProcess + ProcessRundown events
    handles: int = 0  # records in the handle section
    capture_size: int | None = None  # on-disk bytes after close
    write_errors: int = 0
    lost_events: int = 0  # set by live sources: events the kernel dropped
    notes: EncodeNotes = field(default_factory=EncodeNotes)


def resolve_output(path: str | os.PathLike[str]) -> Path:
    """The file a capture named ``path`` is written to.

    A name without extension that does not exist yet gets ``.kcap``, as upstream does
    (``incident`` -> ``incident.kcap``). Anything else is used as it is: a name with an
    extension, and a path that exists (``/dev/full``, ``/dev/stdout``, a FIFO; an existing file,
    which the CLI overwrites only with ``--force``), where upstream would write
    ``/dev/full.kcap``. The reader's `kcap.reader.resolve_path` finds files by the same rule.
    """
    p = Path(path)
    name = p.name
    if not name or p.suffix:
        return p
    try:
        if p.exists():
            return p
    except OSError:  # a name too long to look up, say: opening it reports that
        return p
    return p.with_name(name + ("kcap" if name.endswith(".") else ".kcap"))


ErrorCallback = Callable[[KcapError], None]


class Writer:
    """A capture being written. Thread-safe: `write` may be called while the flusher runs."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        process_snapshotter: ProcessSnapshotter | None = None,
        handle_snapshotter: HandleSnapshotter | None = None,
        config: Config | None = None,
        *,
        on_error: ErrorCallback | None = None,
        handles: Iterable[Handle] | None = None,
        order: sec.ByteOrder = sec.ByteOrder.LITTLE,
        engine: engines.Engine | None = None,
    ) -> None:
        self.config = config or Config()
        self.path = resolve_output(path)
        self.stats = WriterStats(file=self.path.name)
        self._on_error = on_error
        self._psnap = process_snapshotter
        self.engine = engine or engines.default()
        self._encoder = EventEncoder(order, self.engine.kernel)
        self.stats.notes = self._encoder.notes
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._closed = False
        try:
            self._fh: BinaryIO = self.path.open("wb")
        except OSError as exc:
            raise CaptureError(
                f"cannot create capture file {self.path}: {exc.strerror}; "
                "choose a writable location with -o"
            ) from None
        self._compressor = Compressor(self._fh, self.config.compression_level)
        if handles is None:
            handles = handle_snapshotter.handles() if handle_snapshotter is not None else []
        handle_list = list(handles)
        try:
            snapshot = encode_handles(handle_list, order)
        except EncodeError:
            self._fh.close()
            raise
        try:
            self._compressor.write(encode_header(order=order))
            self._compressor.write(
                struct.pack(
                    order.prefix + sec.SECTION_CODE, sec.HANDLE, sec.HANDLE_V1, len(handle_list), 0
                )
            )
            self._compressor.write(snapshot)
            self._compressor.flush()
        except OSError as exc:
            try:
                self._fh.close()
            except OSError:
                pass  # the same failure again, flushing the bytes that did not fit
            raise CaptureError(f"couldn't write the capture header to {self.path}: {exc}") from None
        self.stats.handles = len(handle_list)
        self._stop_flusher = threading.Event()
        self._flusher: threading.Thread | None = None
        if self.config.flush_period > 0:
            self._flusher = threading.Thread(
                target=self._flush_loop, name="kcap-flusher", daemon=True
            )
            self._flusher.start()

    # ------------------------------------------------------------------ writing

    def write(self, ev: Event) -> bool:
        """Encode and append one event; False (and ``on_error``) when it could not be written."""
        if type(ev) is not Event and not isinstance(ev, Event):
            what = type(ev).__name__
            hint = "; use write_all() for many events" if hasattr(ev, "__iter__") else ""
            raise TypeError(f"Writer.write() takes one Event, not {what}{hint}")
        if self._closed:
            raise CaptureError("the writer is closed")
        et = lookup(ev.type)
        carries = et is not None and et.carries_process
        try:
            if carries and self._psnap is not None and ev.process is None:
                self._attach_state(ev)
            data = self._encoder.encode(ev)
        except KcapError as exc:
            self._error(exc)
            return False
        stats = self.stats
        if et is not None and et.state_only:
            stats.state_events += 1
        else:
            stats.events += 1
        if carries:
            stats.processes += 1
        stats.bytes += len(data) - sec.SECTION_SIZE
        with self._lock:
            self._pending += data
            if len(self._pending) >= _BATCH_BYTES:
                self._drain()
        return True

    def _attach_state(self, ev: Event) -> None:
        # Upstream embeds the known process state in CreateProcess and ProcessRundown events.
        assert self._psnap is not None
        pid = ev.param("pid")
        found = self._psnap.find(pid if isinstance(pid, int) else ev.pid)
        if found is not None:
            ev.process = found

    def write_all(self, events: Iterable[Event]) -> int:
        """Write every event of an iterable; returns how many were written."""
        n = 0
        for ev in events:
            n += self.write(ev)
        return n

    def write_from_queue(self, q: queue_mod.Queue[Any], timeout: float | None = None) -> int:
        """Write events taken from a queue fed by another thread until `STOP` arrives.

        Items may be events or lists of events (batches cost less to hand over).
        """
        n = 0
        while True:
            try:
                item = q.get(timeout=timeout)
            except queue_mod.Empty:
                return n
            if item is STOP:
                return n
            if isinstance(item, Event):
                n += self.write(item)
            else:
                n += self.write_all(item)

    def _error(self, exc: KcapError) -> None:
        self.stats.write_errors += 1
        if self._on_error is not None:
            self._on_error(exc)

    def _drain(self) -> None:
        if self._pending:
            try:
                self._compressor.write(self._pending)
            except OSError as exc:
                self._error(
                    CaptureError(f"couldn't write kevent kcap section to {self.path}: {exc}")
                )
            self._pending = bytearray()

    # ------------------------------------------------------------------ flushing

    def flush(self) -> None:
        """Make everything written so far visible in the file (ends the current zstd block)."""
        with self._lock:
            if self._closed:
                return
            self._drain()
            try:
                self._compressor.flush()
            except OSError as exc:
                self._error(CaptureError(f"couldn't flush {self.path}: {exc}"))

    def _flush_loop(self) -> None:
        while not self._stop_flusher.wait(self.config.flush_period):
            self.flush()

    def close(self) -> WriterStats:
        """End the frame, close the file and return the statistics."""
        if self._closed:
            return self.stats
        self._stop_flusher.set()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            self._drain()
            try:
                self._compressor.close()
            except OSError as exc:
                self._error(CaptureError(f"couldn't finish {self.path}: {exc}"))
            finally:
                self._closed = True
                try:
                    self._fh.close()  # flushes Python's buffer: can fail on a full disk too
                except OSError as exc:
                    self._error(CaptureError(f"couldn't finish {self.path}: {exc}"))
        try:
            self.stats.capture_size = self.path.stat().st_size
        except OSError:
            self.stats.capture_size = None
        return self.stats

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def new_writer(
    path: str | os.PathLike[str],
    process_snapshotter: ProcessSnapshotter | None = None,
    handle_snapshotter: HandleSnapshotter | None = None,
    config: Config | None = None,
    *,
    on_error: ErrorCallback | None = None,
    handles: Iterable[Handle] | None = None,
    engine: engines.Engine | None = None,
) -> Writer:
    """Create a capture at ``path`` (``.kcap`` added when it has no extension)."""
    return Writer(
        path,
        process_snapshotter,
        handle_snapshotter,
        config,
        on_error=on_error,
        handles=handles,
        engine=engine,
    )


__all__ = ["STOP", "Config", "EncodeError", "Writer", "WriterStats", "new_writer"]
