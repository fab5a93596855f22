"""Output formats of ``kcap convert``: Parquet, CSV and JSON lines of the export schema, and the
two timeline formats (`kcap.export.timeline`). Every writer takes record batches of
`kcap.export.source.EventBatches` and writes them as they come.

Text formats (CSV, JSON lines) spell the values that have no text of their own the same way
(docs/schema.md, "Text formats"): timestamps as RFC 3339 UTC text with nine fraction digits,
binary values as lower-case hex, maps as JSON objects (CSV) or objects (JSON lines), the
``meta`` list as ``[[key, value], ...]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from kcap.export.extras import require

_fast_dumps: Callable[[Any], bytes] | None
try:  # optional, several times faster; the output is the same
    from orjson import dumps as _orjson_dumps

    _fast_dumps = _orjson_dumps
except ImportError:  # pragma: no cover - depends on the environment
    _fast_dumps = None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (Arrow strings are valid UTF-8, so nothing needs escaping)."""
    if _fast_dumps is not None:
        return _fast_dumps(obj)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class BatchWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------- text spellings

#: Rows turned into Python values at a time by the text writers (a row is a few dozen objects).
TEXT_SLICE = 2048

RFC3339_UTC = "%Y-%m-%dT%H:%M:%SZ"  # %S of a nanosecond timestamp carries nine digits


def _hex_values(arr: pa.Array) -> list[str | None]:
    """Binary values as hex; a column repeats few distinct values (type ids), so each distinct
    value is converted once."""
    enc = arr.dictionary_encode()
    hexes = [None if b is None else b.hex() for b in enc.dictionary.to_pylist()]
    return [None if i is None else hexes[i] for i in enc.indices.to_pylist()]


def _pairs(arr: pa.Array) -> list[list[tuple[Any, Any]] | None]:
    """A map or list-of-struct column as one list of (key, value) per row (None: null row)."""
    keys_arr = arr.keys if isinstance(arr, pa.MapArray) else arr.flatten().field(0)
    items_arr = arr.items if isinstance(arr, pa.MapArray) else arr.flatten().field(1)
    binary = pa.types.is_binary(items_arr.type)
    items = _hex_values(items_arr) if binary else items_arr.to_pylist()
    keys = keys_arr.to_pylist()
    offsets = arr.offsets.to_pylist()
    valid = arr.is_valid().to_pylist()
    base = offsets[0]
    out: list[list[tuple[Any, Any]] | None] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        a, b = offsets[row] - base, offsets[row + 1] - base
        out.append(list(zip(keys[a:b], items[a:b])))
    return out


def text_columns(batch: pa.RecordBatch, *, nested: bool) -> dict[str, list[Any]]:
    """The columns of ``batch`` as Python lists of text-format values.

    ``nested``: maps become dicts and ``meta`` a list of pairs (JSON lines); otherwise
    (CSV) both become their JSON text.
    """
    out: dict[str, list[Any]] = {}
    for name, arr in zip(batch.schema.names, batch.columns):
        t = arr.type
        if pa.types.is_timestamp(t):
            out[name] = pc.strftime(arr, format=RFC3339_UTC).to_pylist()
        elif pa.types.is_binary(t):
            out[name] = _hex_values(arr)
        elif pa.types.is_map(t):
            rows = _pairs(arr)
            dicts = [None if r is None else dict(r) for r in rows]
            out[name] = (
                dicts if nested else [None if d is None else dumps(d).decode() for d in dicts]
            )
        elif pa.types.is_list(t):
            pairs = _pairs(arr)
            lists = [None if r is None else [list(p) for p in r] for r in pairs]
            out[name] = (
                lists if nested else [None if v is None else dumps(v).decode() for v in lists]
            )
        else:
            out[name] = arr.to_pylist()
    return out


def rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """The rows of ``batch`` as JSON-ready dicts (text-format values, nulls kept)."""
    cols = text_columns(batch, nested=True)
    names = list(cols)
    return [dict(zip(names, values)) for values in zip(*cols.values())]


# --------------------------------------------------------------------------- writers


class ParquetWriter:
    """Parquet, zstd-compressed; each batch becomes a row group."""

    def __init__(self, out: str | IO[bytes], schema: pa.Schema) -> None:
        pq = require("pyarrow.parquet")
        self._writer = pq.ParquetWriter(out, schema, compression="zstd")

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


class CsvWriter:
    """CSV with a header row; see `text_columns` for how values are spelled."""

    def __init__(self, out: IO[bytes], schema: pa.Schema) -> None:
        self._csv = require("pyarrow.csv")
        self._out = out
        self._writer: Any = None

    def write(self, batch: pa.RecordBatch) -> None:
        for start in range(0, batch.num_rows, TEXT_SLICE):
            self._write(batch.slice(start, TEXT_SLICE))

    def _write(self, batch: pa.RecordBatch) -> None:
        cols = text_columns(batch, nested=False)
        table = pa.table(
            {k: pa.array(v, _csv_type(batch.schema.field(k).type)) for k, v in cols.items()}
        )
        if self._writer is None:
            self._writer = self._csv.CSVWriter(self._out, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _csv_type(t: pa.DataType) -> pa.DataType:
    nested = pa.types.is_map(t) or pa.types.is_list(t)
    return pa.string() if nested or pa.types.is_timestamp(t) or pa.types.is_binary(t) else t


class JsonLinesWriter:
    """One JSON object per row; ``to_doc(row, ns)`` may reshape a row first (the timeline
    formats), ``ns`` being its timestamp in UTC nanoseconds (None when null)."""

    def __init__(
        self,
        out: IO[bytes],
        to_doc: Callable[[dict[str, Any], int | None], dict[str, Any]] | None = None,
    ) -> None:
        self._out = out
        self._to_doc = to_doc

    def write(self, batch: pa.RecordBatch) -> None:
        for start in range(0, batch.num_rows, TEXT_SLICE):
            self._write(batch.slice(start, TEXT_SLICE))

    def _write(self, batch: pa.RecordBatch) -> None:
        to_doc = self._to_doc
        if to_doc is None:
            parts = [dumps(row) for row in rows(batch)]
        else:
            ts = batch.column("timestamp") if "timestamp" in batch.schema.names else None
            ns = [None] * batch.num_rows if ts is None else ts.cast(pa.int64()).to_pylist()
            parts = [dumps(to_doc(row, t)) for row, t in zip(rows(batch), ns)]
        if parts:
            self._out.write(b"\n".join(parts) + b"\n")

    def close(self) -> None:
        self._out.flush()


def open_writer(fmt: str, out: IO[bytes], schema: pa.Schema) -> BatchWriter:
    """The writer of one ``kcap convert --to`` format (not ``kcap``, a capture format)."""
    from kcap.export.timeline import ecs_doc, timesketch_doc

    if fmt == "parquet":
        return ParquetWriter(out, schema)
    if fmt == "csv":
        return CsvWriter(out, schema)
    if fmt == "jsonl":
        return JsonLinesWriter(out)
    if fmt == "timesketch":
        return JsonLinesWriter(out, timesketch_doc)
    if fmt == "ecs":
        return JsonLinesWriter(out, ecs_doc)
    raise ValueError(f"unknown format {fmt!r}")


FORMATS = ("parquet", "csv", "jsonl", "timesketch", "ecs")


__all__ = [
    "FORMATS",
    "RFC3339_UTC",
    "BatchWriter",
    "CsvWriter",
    "JsonLinesWriter",
    "ParquetWriter",
    "dumps",
    "open_writer",
    "rows",
    "text_columns",
]
