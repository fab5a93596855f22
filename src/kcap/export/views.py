"""The ``processes``, ``handles`` and ``modules`` tables of a capture (docs/schema.md, "SQL
views"), built as Arrow tables from one replay (`kcap.analysis.lifetimes`).

Unlike ``events``, these are materialized: they hold one row per process, handle or module, so
their size follows the number of those in the capture, not the number of events.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from kcap.analysis.lifetimes import Lifetimes, track
from kcap.export.builder import TIMESTAMP, timestamp_ns
from kcap.export.values import valid_text
from kcap.model.timestamp import Timestamp

VIEW_NAMES = ("processes", "handles", "modules")

_S, _U32, _U64 = pa.string(), pa.uint32(), pa.uint64()

PROCESS_SCHEMA = pa.schema(
    [
        ("file", _S),
        ("uuid", _U64),
        ("pid", _U32),
        ("ppid", _U32),
        ("name", _S),
        ("exe", _S),
        ("cmdline", _S),
        ("cwd", _S),
        ("sid", _S),
        ("username", _S),
        ("domain", _S),
        ("session_id", _U32),
        ("start_time", TIMESTAMP),
        ("first_seen", TIMESTAMP),
        ("seen_by", _S),
        ("exit_time", TIMESTAMP),
        ("parent_uuid", _U64),
        ("parent_name", _S),
        ("events", pa.int64()),
        ("modules", pa.int64()),
        ("is_wow64", pa.bool_()),
        ("is_protected", pa.bool_()),
        ("is_packaged", pa.bool_()),
    ]
)

HANDLE_SCHEMA = pa.schema(
    [
        ("file", _S),
        ("object", _U64),
        ("num", _U64),
        ("pid", _U32),
        ("type", _S),
        ("name", _S),
        ("opened", TIMESTAMP),
        ("closed", TIMESTAMP),
        ("in_snapshot", pa.bool_()),
    ]
)

MODULE_SCHEMA = pa.schema(
    [
        ("file", _S),
        ("pid", _U32),
        ("process_uuid", _U64),
        ("process_name", _S),
        ("path", _S),
        ("name", _S),
        ("base_address", _U64),
        ("size", _U64),
        ("checksum", _U64),
        ("default_base_address", _U64),
        ("signature_level", _U32),
        ("signature_type", _U32),
    ]
)


def _ns(ts: Timestamp | None) -> int | None:
    return None if ts is None else timestamp_ns(ts)


def _text(s: str) -> str:
    # These tables are small: each string is made valid UTF-8 (U+FFFD for a bad byte) as is.
    return s if s.isascii() else valid_text(s)


def _table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r[f.name] for r in rows] for f in schema}
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def process_rows(life: Lifetimes) -> list[dict[str, Any]]:
    rows = []
    for p in life.processes:
        proc = p.process
        parent = proc.parent
        st = proc.start_time
        rows.append(
            {
                "file": life.path,
                "uuid": proc.uuid,
                "pid": proc.pid,
                "ppid": proc.ppid,
                "name": _text(proc.name),
                "exe": _text(proc.exe),
                "cmdline": _text(proc.cmdline),
                "cwd": _text(proc.cwd),
                "sid": _text(proc.sid),
                "username": _text(proc.username),
                "domain": _text(proc.domain),
                "session_id": proc.session_id,
                "start_time": _ns(st) if st.ns > 0 else None,
                "first_seen": _ns(p.first_seen),
                "seen_by": p.seen_by,
                "exit_time": _ns(p.exit_time),
                "parent_uuid": None if parent is None else parent.uuid,
                "parent_name": None if parent is None else _text(parent.name),
                "events": p.events,
                "modules": len(proc.modules),
                "is_wow64": proc.is_wow64,
                "is_protected": proc.is_protected,
                "is_packaged": proc.is_packaged,
            }
        )
    return rows


def handle_rows(life: Lifetimes) -> list[dict[str, Any]]:
    return [
        {
            "file": life.path,
            "object": h.handle.object,
            "num": h.handle.num,
            "pid": h.handle.pid,
            "type": _text(h.handle.type),
            "name": _text(h.handle.name),
            "opened": _ns(h.opened),
            "closed": _ns(h.closed),
            "in_snapshot": h.opened is None,
        }
        for h in life.handles
    ]


def module_rows(life: Lifetimes) -> list[dict[str, Any]]:
    rows = []
    for p in life.processes:
        proc = p.process
        for m in proc.modules:
            rows.append(
                {
                    "file": life.path,
                    "pid": proc.pid,
                    "process_uuid": proc.uuid,
                    "process_name": _text(proc.name),
                    "path": _text(m.path),
                    "name": _text(m.name),
                    "base_address": m.base_address,
                    "size": m.size,
                    "checksum": m.checksum,
                    "default_base_address": m.default_base_address,
                    "signature_level": m.signature_level,
                    "signature_type": m.signature_type,
                }
            )
    return rows


def view_tables(
    paths: Iterable[str | os.PathLike[str]], views: Iterable[str] = VIEW_NAMES
) -> dict[str, pa.Table]:
    """The requested views over ``paths`` (one replay per file, whatever views are asked)."""
    wanted = set(views)
    rows: dict[str, list[dict[str, Any]]] = {v: [] for v in wanted}
    for path in paths:
        life = track(path, handles="handles" in wanted)
        if "processes" in wanted:
            rows["processes"] += process_rows(life)
        if "handles" in wanted:
            rows["handles"] += handle_rows(life)
        if "modules" in wanted:
            rows["modules"] += module_rows(life)
    schemas = {"processes": PROCESS_SCHEMA, "handles": HANDLE_SCHEMA, "modules": MODULE_SCHEMA}
    return {v: _table(schemas[v], rows[v]) for v in wanted}


__all__ = [
    "HANDLE_SCHEMA",
    "MODULE_SCHEMA",
    "PROCESS_SCHEMA",
    "VIEW_NAMES",
    "handle_rows",
    "module_rows",
    "process_rows",
    "view_tables",
]
