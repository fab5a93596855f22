"""Captures as a stream of Arrow record batches: `to_arrow` and what the commands build on.

Files are read one after the other, each with its own reader and replay state, in the order
given; every batch holds events of one file. Memory is bounded by the batch size: events are
read, turned into columns and dropped a batch at a time, whatever the size of the capture.

What is decoded follows the selected columns (`kcap.export.schema`): header columns alone
decode no parameters (the reader's lazy mode), and process state is tracked only when a
``ps_*`` column or the filter needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import kcap
from kcap.errors import FormatError, KcapError, StateWarning
from kcap.export.extras import require
from kcap.export.schema import select
from kcap.reader import Reader

if TYPE_CHECKING:
    import pyarrow as pa

    from kcap.filter import Filter

PathLike = str | os.PathLike[str]
ErrorSink = Callable[[KcapError], None]

#: Events per record batch: large enough that per-batch costs vanish, small enough that a
#: batch of decoded events stays a few tens of MB.
DEFAULT_BATCH = 16384


def as_paths(paths: PathLike | Iterable[PathLike]) -> list[PathLike]:
    if isinstance(paths, str | os.PathLike):
        return [paths]
    return list(paths)


def compile_filter(flt: str | Filter | None) -> Filter | None:
    if flt is None or (isinstance(flt, str) and not flt.strip()):
        return None
    from kcap.filter import compile as compile_expression

    return compile_expression(flt)


@dataclass
class ExportStats:
    """What a stream of batches read: events written, per-event errors, fatal error if any."""

    events: int = 0
    files: int = 0
    errors: int = 0
    fatal: list[FormatError] = field(default_factory=list)
    unterminated: list[str] = field(default_factory=list)


def _raise(exc: KcapError) -> None:
    """The default ``on_error``: an event that does not decode stops the export; a state
    warning (a missing parameter, the event kept) does not."""
    if not isinstance(exc, StateWarning):
        raise exc


class EventBatches:
    """Record batches of the selected columns from one or more captures.

    ``on_error`` receives the non-fatal errors (one event that does not decode; the event is
    left out). A fatal error (a file cut short or damaged part-way) ends that file after its
    last complete event: with ``keep_going`` it is recorded in `stats` and the next file is
    read, otherwise it is raised after the batches before it.
    """

    def __init__(
        self,
        paths: PathLike | Iterable[PathLike],
        filter: str | Filter | None = None,
        columns: str | Sequence[str] | None = None,
        *,
        batch_size: int = DEFAULT_BATCH,
        on_error: ErrorSink | None = None,
        keep_going: bool = False,
        limit: int | None = None,
    ) -> None:
        require("pyarrow")
        from kcap.export.builder import BatchBuilder, arrow_schema

        self.names = select(
            columns if columns is None or isinstance(columns, str) else list(columns)
        )
        self.schema: pa.Schema = arrow_schema(self.names)
        self.filter = compile_filter(filter)
        self.paths = as_paths(paths)
        self.batch_size = max(1, batch_size)
        self.on_error: ErrorSink = on_error or _raise
        self.keep_going = keep_going
        self.limit = limit
        self.stats = ExportStats()
        self._builder_type = BatchBuilder
        # Fail early, before any output: every file must open (header read).
        self._readers: list[Reader] = []
        try:
            for p in self.paths:
                self._readers.append(kcap.open(p, on_error=self._event_error))
        except BaseException:
            self.close()
            raise

    def _event_error(self, exc: KcapError) -> None:
        if not isinstance(exc, StateWarning):  # a warning leaves the event in: not an error
            self.stats.errors += 1
        self.on_error(exc)

    def close(self) -> None:
        for r in self._readers:
            r.close()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for reader in self._readers:
                if self.limit is not None and self.stats.events >= self.limit:
                    break
                yield from self._file_batches(reader)
        finally:
            self.close()

    def _file_batches(self, reader: Reader) -> Iterator[pa.RecordBatch]:
        builder = self._builder_type(self.names, str(reader.path))
        if self.filter is not None:
            reader.set_filter(self.filter)
        # State is needed by ps_* columns, and by a filter (which may read ps.* fields).
        track = builder.needs_state or self.filter is not None
        events: Iterator[Any] = reader.read(lazy=True, track_state=track)
        if builder.needs_params:
            events = self._decoded(events, str(reader.path))
        self.stats.files += 1
        stats, limit, size = self.stats, self.limit, self.batch_size
        chunk: list[Any] = []
        error: FormatError | None = None
        try:
            for ev in events:
                chunk.append(ev)
                full = len(chunk) >= size
                if full or (limit is not None and stats.events + len(chunk) >= limit):
                    stats.events += len(chunk)
                    yield builder.build(chunk)
                    chunk = []
                    if limit is not None and stats.events >= limit:
                        return
        except FormatError as exc:  # the file is cut or damaged here: keep what came before
            error = exc if exc.path else exc.located(path=str(reader.path))
        if chunk:
            stats.events += len(chunk)
            yield builder.build(chunk)
        if error is not None:
            if not self.keep_going:
                raise error
            stats.fatal.append(error)
            return
        if not reader.terminated:
            self.stats.unterminated.append(str(reader.path))

    def _decoded(self, events: Iterator[Any], path: str) -> Iterator[Any]:
        """Decode each event's parameters now; one that does not decode is reported and left
        out (its length was known, so the rest of the file is unaffected)."""
        for ev in events:
            try:
                ev.decode()
            except FormatError as exc:
                self._event_error(exc if exc.path else exc.located(path=path))
                continue
            yield ev


def to_arrow(
    paths: PathLike | Iterable[PathLike],
    filter: str | Filter | None = None,
    columns: str | Sequence[str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_error: ErrorSink | None = None,
) -> pa.RecordBatchReader:
    """The events of one or more captures as a streaming `pyarrow.RecordBatchReader`.

    ``filter`` is a filter expression (or compiled `kcap.filter.Filter`); ``columns`` selects
    columns of the export schema (docs/schema.md; default all). Batches are produced as the
    reader is consumed, so memory stays bounded whatever the size of the captures. Events that
    do not decode go to ``on_error`` (default: raise); a file cut short raises at its end.
    """
    pa = require("pyarrow")
    batches = EventBatches(paths, filter, columns, batch_size=batch_size, on_error=on_error)
    return pa.RecordBatchReader.from_batches(batches.schema, iter(batches))


def to_pandas(
    paths: PathLike | Iterable[PathLike],
    filter: str | Filter | None = None,
    columns: str | Sequence[str] | None = None,
) -> Any:
    """The events as a pandas DataFrame (needs pandas; the whole result is in memory)."""
    require("pandas")
    return to_arrow(paths, filter, columns).read_pandas()


def to_polars(
    paths: PathLike | Iterable[PathLike],
    filter: str | Filter | None = None,
    columns: str | Sequence[str] | None = None,
) -> Any:
    """The events as a polars DataFrame (needs polars; the whole result is in memory)."""
    pl = require("polars")
    return pl.from_arrow(to_arrow(paths, filter, columns).read_all())


__all__ = [
    "DEFAULT_BATCH",
    "EventBatches",
    "ExportStats",
    "as_paths",
    "compile_filter",
    "to_arrow",
    "to_pandas",
    "to_polars",
]
