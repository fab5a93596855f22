"""SQL over captures with DuckDB: the ``events`` view streams the export schema, the
``processes``, ``handles`` and ``modules`` views are tables built from one replay.

Projection pushdown: before running a query, DuckDB's own parser (``json_serialize_sql``) tells
which views and column names the query mentions; ``events`` then streams only those columns, so
a query on header columns decodes no event parameter and tracks no process state, and the
other views are built only when the query names them. Names are collected generously (a column
name mentioned anywhere counts for ``events``; ``*`` selects everything), so the selection can
only be wider than needed, never narrower. A statement the parser cannot serialize (anything
but a query) gets every column and every view.

``events`` is a stream, read once. A query that names it more than once (a self-join) gets it
copied into a DuckDB table first, with the columns it needs; DuckDB keeps that table in memory
and spills to its temporary directory when it grows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import kcap
from kcap.errors import KcapError
from kcap.export.extras import require
from kcap.export.schema import NAMES
from kcap.export.source import PathLike, as_paths, to_arrow

if TYPE_CHECKING:
    from kcap.filter import Filter

VIEWS = ("events", "processes", "handles", "modules")


class SqlError(KcapError):
    """A query DuckDB rejects (syntax, unknown column, type error...)."""


@dataclass
class QueryNeeds:
    """The views a query names, and the column names it mentions (None: all of them)."""

    views: set[str] = field(default_factory=set)
    columns: set[str] | None = field(default_factory=set)
    events_refs: int = 0


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            yield n
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)


def analyse(query: str, con: Any) -> QueryNeeds:
    """What ``query`` needs, from DuckDB's parse tree of it."""
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    except Exception:  # DuckDB raises its own exception types; fall back to everything
        tree = {"error": True}
    if tree.get("error"):
        return QueryNeeds(set(VIEWS), None, 2)
    needs = QueryNeeds()
    columns: set[str] = set()
    star = False
    for node in _walk(tree):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            name = str(node.get("table_name", "")).lower()
            if name in VIEWS:
                needs.views.add(name)
                if name == "events":
                    needs.events_refs += 1
        elif node.get("class") == "COLUMN_REF":
            columns.update(str(c).lower() for c in node.get("column_names", []))
        elif node.get("class") == "STAR" or kind == "STAR":
            star = True
    needs.columns = None if star else columns
    return needs


def event_columns(needs: QueryNeeds) -> list[str]:
    """The export columns ``events`` streams for a query (at least one: a count needs rows)."""
    if needs.columns is None:
        return list(NAMES)
    cols = [c for c in NAMES if c in needs.columns]
    return cols or ["seq"]


def connect(
    paths: PathLike | Iterable[PathLike],
    query: str | None = None,
    *,
    filter: str | Filter | None = None,
    views: Iterable[str] | None = None,
) -> Any:
    """A DuckDB connection with the views over ``paths`` that ``query`` needs (every view when
    there is no query, ``views`` to choose)."""
    duckdb = require("duckdb")
    require("pyarrow")
    from kcap.export.views import view_tables

    files = as_paths(paths)
    for path in files:  # every file must be a readable capture, named by the query or not
        kcap.open(path).close()
    con = duckdb.connect()
    needs = analyse(query, con) if query is not None else QueryNeeds(set(VIEWS), None, 1)
    if views is not None:
        needs.views = set(views)
    if "events" in needs.views:
        reader = to_arrow(files, filter, event_columns(needs))
        if needs.events_refs > 1:
            con.register("_kcap_events_stream", reader)
            con.execute("CREATE TEMP TABLE events AS SELECT * FROM _kcap_events_stream")
            con.unregister("_kcap_events_stream")
        else:
            con.register("events", reader)
    others = [v for v in VIEWS[1:] if v in needs.views]
    if others:
        for name, table in view_tables(files, others).items():
            con.register(name, table)
    return con


def sql(
    query: str,
    paths: PathLike | Iterable[PathLike],
    *,
    filter: str | Filter | None = None,
) -> Any:
    """Run ``query`` over the captures ``paths``; returns a DuckDB relation (lazy: iterate,
    ``.fetchall()``, ``.arrow()``, ``.df()``...). ``filter`` (a filter expression) keeps only
    the events it accepts in the ``events`` view."""
    con = connect(paths, query, filter=filter)
    try:
        return con.sql(query)
    except Exception as exc:  # duckdb.Error and its subclasses
        raise SqlError(_full_schema_error(query) or _one_line(exc)) from None


def _full_schema_error(query: str) -> str | None:
    """DuckDB's error for ``query`` against empty views of the full schemas: the connection
    that failed had only the columns the query seemed to name, so its hints ("candidate
    bindings") would list those alone."""
    duckdb = require("duckdb")
    from kcap.export.builder import arrow_schema
    from kcap.export.views import HANDLE_SCHEMA, MODULE_SCHEMA, PROCESS_SCHEMA

    con = duckdb.connect()
    schemas = {
        "events": arrow_schema(NAMES),
        "processes": PROCESS_SCHEMA,
        "handles": HANDLE_SCHEMA,
        "modules": MODULE_SCHEMA,
    }
    for name, schema in schemas.items():
        con.register(name, schema.empty_table())
    try:
        con.sql(query)
    except Exception as exc:
        return _one_line(exc)
    finally:
        con.close()
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def duckdb_error(exc: BaseException) -> SqlError:
    return SqlError(_one_line(exc))


def is_duckdb_error(exc: BaseException) -> bool:
    duckdb = require("duckdb")
    return isinstance(exc, duckdb.Error)


__all__ = [
    "VIEWS",
    "QueryNeeds",
    "SqlError",
    "analyse",
    "connect",
    "duckdb_error",
    "event_columns",
    "is_duckdb_error",
    "sql",
]
