"""Events to Arrow record batches, column by column (the schema is `kcap.export.schema`).

A batch is built from a list of events in a few passes, each producing whole columns: the
header fields of all events are read with one C-level ``attrgetter`` call per event and
transposed with ``zip``; the processes attached to the batch are deduplicated and their columns
built once per process, then spread with Arrow's ``take``; parameters are walked once per event
for the ``params`` maps and the typed parameter columns together. No per-event dictionary is
ever made. Columns not selected are not computed, and parameters are not decoded unless a
selected column needs them (a lazily read event decodes them on first access).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from operator import attrgetter, call
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kcap import __version__
from kcap.export.schema import (
    BY_NAME,
    HEADER_ATTRS,
    META_KCAP,
    META_VERSION,
    SCHEMA_VERSION,
    TYPED_PARAMS,
    Column,
)
from kcap.export.values import TEXT_OF, is_exact, raw_bytes, valid_text, value_text
from kcap.model.event import Event
from kcap.model.params import INT_TYPES, ParamType
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp

TIMESTAMP = pa.timestamp("ns", tz="UTC")
_META_ITEM = pa.struct([("key", pa.string()), ("value", pa.string())])

ARROW_TYPES: dict[str, pa.DataType] = {
    "uint64": pa.uint64(),
    "uint32": pa.uint32(),
    "uint16": pa.uint16(),
    "int32": pa.int32(),
    "string": pa.string(),
    "binary": pa.binary(),
    "timestamp": TIMESTAMP,
    "map<string,string>": pa.map_(pa.string(), pa.string()),
    "map<string,binary>": pa.map_(pa.string(), pa.binary()),
    "list<struct<key,value>>": pa.list_(_META_ITEM),
}

#: The instants a ``timestamp[ns]`` can hold (years 1677..2262).
MIN_NS, MAX_NS = -(1 << 63), (1 << 63) - 1
_INT_MAX = {
    "uint64": pa.scalar((1 << 64) - 1, pa.uint64()),
    "uint32": pa.scalar((1 << 32) - 1, pa.uint64()),
    "uint16": pa.scalar(65535, pa.uint64()),
}

_LABELS = {t: t.label for t in ParamType}


class _Renderers(dict[type, Callable[[Any], str]]):
    """Python type of a value -> the function giving its text; str maps to str (identity)."""

    def __missing__(self, key: type) -> Callable[[Any], str]:
        return value_text


_RENDER = _Renderers(TEXT_OF)
_RENDER[str] = str
_NS = attrgetter("ns")
_OFFSET = attrgetter("offset")
_TEXT = attrgetter("text")


def arrow_schema(names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of the selected columns, with the schema version in its metadata."""
    fields = [pa.field(n, ARROW_TYPES[BY_NAME[n].type]) for n in names]
    return pa.schema(
        fields, metadata={META_VERSION: SCHEMA_VERSION.encode(), META_KCAP: __version__.encode()}
    )


def timestamp_ns(ts: Timestamp) -> int | None:
    """UTC nanoseconds of ``ts``, or None when it is not a valid time a column can hold."""
    ns = ts.ns
    return ns if MIN_NS <= ns <= MAX_NS and ts.valid else None


# --------------------------------------------------------------------------- typed parameters

#: Type labels whose text is an integer (the typed integer columns take only these).
_INT_LABELS = pa.array(sorted({t.label for t in INT_TYPES}))


def _typed_plan(names: Sequence[str]) -> list[tuple[Column, tuple[str, ...]]]:
    """Selected typed columns with the parameter names their filter field reads."""
    from kcap.filter.fields import spec_of

    return [(c, spec_of(c.field).params) for c in TYPED_PARAMS if c.name in names and c.field]


def _typed_column(
    col: Column,
    pnames: tuple[str, ...],
    category: pa.Array,
    params_map: pa.Array,
    types_map: pa.Array,
) -> pa.Array:
    """One typed parameter column, computed from the batch's maps by Arrow kernels: the first
    parameter present under the field's names, for events of the field's category."""
    typ = ARROW_TYPES[col.type]
    found: pa.Array | None = None
    for pname in pnames:
        value = pc.map_lookup(params_map, pname, "first")
        if typ != pa.string():
            is_int = pc.is_in(pc.map_lookup(types_map, pname, "first"), value_set=_INT_LABELS)
            keep = pc.and_kleene(is_int, pc.invert(pc.starts_with(value, "-")))
            number = pc.cast(pc.if_else(keep, value, None), pa.uint64())
            fits = pc.less_equal(number, _INT_MAX[col.type])
            value = pc.if_else(fits, number, None)
        found = value if found is None else pc.coalesce(found, value)
    assert found is not None
    here = pc.equal(category, col.category)
    return pc.if_else(here, found, pa.scalar(None, found.type)).cast(typ)


# --------------------------------------------------------------------------- the builder

_PS_GETTERS: dict[str, Callable[[Process], Any]] = {
    "ps_pid": attrgetter("pid"),
    "ps_ppid": attrgetter("ppid"),
    "ps_name": attrgetter("name"),
    "ps_exe": attrgetter("exe"),
    "ps_cmdline": attrgetter("cmdline"),
    "ps_cwd": attrgetter("cwd"),
    "ps_sid": attrgetter("sid"),
    "ps_username": attrgetter("username"),
    "ps_domain": attrgetter("domain"),
    "ps_session_id": attrgetter("session_id"),
    "ps_start_time": lambda p: timestamp_ns(p.start_time),
    "ps_uuid": attrgetter("uuid"),
    "ps_parent_name": lambda p: None if p.parent is None else p.parent.name,
    "ps_parent_uuid": lambda p: None if p.parent is None else p.parent.uuid,
}


class _Raw:
    """The ``raw`` column under construction: row -> [(path, exact bytes)]."""

    def __init__(self) -> None:
        self.rows: dict[int, list[tuple[str, bytes]]] = {}

    def add(self, row: int, path: str, data: bytes) -> None:
        self.rows.setdefault(row, []).append((path, data))

    def array(self, n: int) -> pa.Array:
        typ = ARROW_TYPES["map<string,binary>"]
        if not self.rows:
            return pa.nulls(n, typ)
        values: list[list[tuple[str, bytes]] | None] = [None] * n
        for row, entries in self.rows.items():
            values[row] = entries
        return pa.array(values, typ)


def _strings(
    values: Sequence[str | None],
    raw: _Raw,
    path_of: Callable[[int], str],
    row_of: Callable[[int], int],
) -> pa.Array:
    """A string array; a string with bytes that are not valid UTF-8 is made valid and its exact
    bytes recorded in ``raw`` (the fast path is one C-level conversion of the whole list)."""
    try:
        return pa.array(values, pa.string())
    except UnicodeEncodeError:
        pass
    fixed: list[str | None] = []
    for i, v in enumerate(values):
        if v is not None and not v.isascii() and not is_exact(v):
            raw.add(row_of(i), path_of(i), raw_bytes(v))
            v = valid_text(v)
        fixed.append(v)
    return pa.array(fixed, pa.string())


def _same_row(i: int) -> int:
    return i


def _fixed_path(path: str) -> Callable[[int], str]:
    return lambda i: path


class BatchBuilder:
    """Builds record batches of the selected columns (``names``, in schema order)."""

    def __init__(self, names: Sequence[str], file: str = "") -> None:
        self.names = tuple(names)
        self.schema = arrow_schema(self.names)
        self.file = file
        needs = {BY_NAME[n].needs for n in self.names}
        self.needs_params = "params" in needs
        self.needs_state = "state" in needs
        self._header = [n for n in self.names if n in HEADER_ATTRS]
        want_time = "timestamp" in self.names or "tz_offset" in self.names
        attrs = [*self._header]
        if want_time:
            attrs.append("timestamp")
        if self.needs_state:
            attrs.append("ps")
        if self.needs_params:
            attrs += ["category", "params", "meta"]
        self._attrs = attrs
        # attrgetter of one name returns the value, not a 1-tuple
        self._get = attrgetter(*attrs) if len(attrs) > 1 else attrgetter(attrs[0], attrs[0])
        self._typed = _typed_plan(self.names)
        self._ps = [n for n in self.names if n in _PS_GETTERS]

    def build(self, events: Sequence[Event]) -> pa.RecordBatch:
        n = len(events)
        raw = _Raw()
        columns: dict[str, pa.Array] = {}
        if self._attrs and n:
            got = list(zip(*map(self._get, events)))
            by_attr = dict(zip(self._attrs, got))
        else:
            by_attr = {a: () for a in self._attrs}
        for name in self._header:
            values = by_attr[name]
            typ = ARROW_TYPES[BY_NAME[name].type]
            if typ == pa.string():
                columns[name] = _strings(values, raw, _fixed_path(name), _same_row)
            else:
                columns[name] = pa.array(values, typ)
        if "timestamp" in by_attr:
            self._timestamps(by_attr["timestamp"], raw, columns)
        if self.needs_params:
            self._params(by_attr["category"], by_attr["params"], by_attr["meta"], raw, columns)
        if self.needs_state:
            self._state(by_attr["ps"], raw, columns)
        if "file" in self.names:
            columns["file"] = pa.repeat(pa.scalar(self.file, pa.string()), n)
        if "raw" in self.names:
            columns["raw"] = raw.array(n)
        return pa.RecordBatch.from_arrays([columns[c] for c in self.names], schema=self.schema)

    # ------------------------------------------------------------------ timestamps

    def _timestamps(self, tss: Sequence[Timestamp], raw: _Raw, out: dict[str, pa.Array]) -> None:
        got: list[int] = list(map(_NS, tss))
        offsets = list(map(_OFFSET, tss))
        ns: list[int | None] = list(got)
        if got and (min(got) < MIN_NS or max(got) > MAX_NS):
            for i, ts in enumerate(tss):
                if timestamp_ns(ts) is None:
                    ns[i] = None
                    raw.add(i, "timestamp", raw_bytes(ts.text))
        if "timestamp" in self.names:
            out["timestamp"] = pa.array(ns, TIMESTAMP)
        if "tz_offset" in self.names:
            out["tz_offset"] = pa.array(offsets, pa.int32())

    # ------------------------------------------------------------------ parameters

    def _params(
        self,
        categories: Sequence[str],
        params_of: Sequence[Any],
        metas: Sequence[list[tuple[str, str]]],
        raw: _Raw,
        out: dict[str, pa.Array],
    ) -> None:
        names = self.names
        # Every parameter of the batch in one flat list of `Param` tuples, transposed once.
        flat: list[Any] = []
        offsets = [0]
        extend, add_offset = flat.extend, offsets.append
        for params in params_of:
            # A repeated name (damaged files only) keeps its first value, as `Params` does.
            extend(params.all() if not params.duplicates else [params[k] for k in params])
            add_offset(len(flat))
        if flat:
            keys, ptypes, values, _ = zip(*flat)
        else:
            keys = ptypes = values = ()
        off = pa.array(offsets, pa.int32())

        def row_of(i: int) -> int:
            return bisect.bisect_right(offsets, i) - 1

        key_arr = _strings(keys, raw, lambda i: f"param_names.{valid_text(keys[i])}", row_of)
        # text of each value: a C-level call per value for the common types (str, int)
        texts = list(map(call, map(_RENDER.__getitem__, map(type, values)), values))
        text_arr = _strings(texts, raw, lambda i: f"params.{valid_text(keys[i])}", row_of)
        params_map = pa.MapArray.from_arrays(off, key_arr, text_arr)
        type_arr = pa.array(list(map(_LABELS.get, ptypes)), pa.string())
        types_map = pa.MapArray.from_arrays(off, key_arr, type_arr)
        if "params" in names:
            out["params"] = params_map
        if "param_types" in names:
            out["param_types"] = types_map
        if self._typed:
            category = pa.array(categories, pa.string())
            for col, pnames in self._typed:
                out[col.name] = _typed_column(col, pnames, category, params_map, types_map)
        if "meta" in names:
            out["meta"] = self._meta(metas, raw)

    def _meta(self, metas: Sequence[list[tuple[str, str]]], raw: _Raw) -> pa.Array:
        keys: list[str] = []
        values: list[str] = []
        offsets = [0]
        for pairs in metas:
            for k, v in pairs:
                keys.append(k)
                values.append(v)
            offsets.append(len(keys))

        def row_of(i: int) -> int:
            return bisect.bisect_right(offsets, i) - 1

        def path(part: str) -> Callable[[int], str]:
            return lambda i: f"meta.{i - offsets[row_of(i)]}.{part}"

        k_arr = _strings(keys, raw, path("key"), row_of)
        v_arr = _strings(values, raw, path("value"), row_of)
        items = pa.StructArray.from_arrays([k_arr, v_arr], fields=list(_META_ITEM))
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items)

    # ------------------------------------------------------------------ process state

    def _state(self, procs: Sequence[Process | None], raw: _Raw, out: dict[str, pa.Array]) -> None:
        slot: dict[int, int] = {}
        unique: list[Process] = []
        index: list[int | None] = []
        add = index.append
        for p in procs:
            if p is None:
                add(None)
                continue
            j = slot.get(id(p))
            if j is None:
                j = slot[id(p)] = len(unique)
                unique.append(p)
            add(j)
        take = pa.array(index, pa.int32())
        rows_of: dict[int, list[int]] | None = None
        for name in self._ps:
            typ = ARROW_TYPES[BY_NAME[name].type]
            values = list(map(_PS_GETTERS[name], unique))
            if typ == pa.string():
                arr, bad = _unique_strings(values)
                if bad:
                    if rows_of is None:
                        rows_of = {}
                        for row, j in enumerate(index):
                            if j is not None:
                                rows_of.setdefault(j, []).append(row)
                    for j, data in bad:
                        for row in rows_of.get(j, ()):
                            raw.add(row, name, data)
            else:
                arr = pa.array(values, typ)
            out[name] = arr.take(take)


def _unique_strings(values: list[str | None]) -> tuple[pa.Array, list[tuple[int, bytes]]]:
    """A string array of per-process values, and (index, exact bytes) of the inexact ones."""
    try:
        return pa.array(values, pa.string()), []
    except UnicodeEncodeError:
        pass
    bad = []
    fixed: list[str | None] = []
    for j, v in enumerate(values):
        if v is not None and not v.isascii() and not is_exact(v):
            bad.append((j, raw_bytes(v)))
            v = valid_text(v)
        fixed.append(v)
    return pa.array(fixed, pa.string()), bad


__all__ = ["ARROW_TYPES", "MAX_NS", "MIN_NS", "TIMESTAMP", "BatchBuilder", "arrow_schema"]
