"""Capture statistics: events per kind, category, process and second; top endpoints, files and
registry keys. One streaming DuckDB query with grouping sets over the ``events`` view, so a
capture is read once and memory follows the number of distinct values, not of events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from kcap.export.source import PathLike, as_paths

#: The columns the statistics read (no parameter beyond the typed ones is decoded).
COLUMNS = [
    "name",
    "category",
    "pid",
    "ps_name",
    "timestamp",
    "file_path",
    "registry_path",
    "net_dip",
    "net_dport",
    "net_size",
]

# Each grouping set, by the name of its table in the result.
_SETS = {
    "total": (),
    "kinds": ("name",),
    "categories": ("category",),
    "processes": ("pid", "ps_name"),
    "seconds": ("sec",),
    "files": ("file_path",),
    "registry": ("registry_path",),
    "endpoints": ("net_dip", "net_dport"),
}
_KEYS = (
    "name",
    "category",
    "pid",
    "ps_name",
    "sec",
    "file_path",
    "registry_path",
    "net_dip",
    "net_dport",
)


@dataclass
class Stats:
    files: list[str]
    events: int = 0
    first: str | None = None  # RFC 3339, UTC
    last: str | None = None
    duration_s: float = 0.0
    kinds: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[dict[str, Any]] = field(default_factory=list)
    files_top: list[dict[str, Any]] = field(default_factory=list)
    registry_top: list[dict[str, Any]] = field(default_factory=list)
    endpoints_top: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _query() -> str:
    bits = ", ".join(f"GROUPING({k}) AS g_{k}" for k in _KEYS)
    sets = ", ".join("(" + ", ".join(s) + ")" for s in _SETS.values())
    return (
        f"SELECT {bits}, {', '.join(_KEYS)}, count(*) AS events, sum(net_size) AS bytes, "
        "min(timestamp) AS first, max(timestamp) AS last "
        "FROM (SELECT *, date_trunc('second', timestamp) AS sec FROM events) "
        f"GROUP BY GROUPING SETS ({sets})"
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    text: str = value.isoformat()
    return text.replace("+00:00", "Z")


#: A per-second series longer than this (a capture spanning days) keeps only its busy seconds.
MAX_FILLED_SECONDS = 200_000


def _every_second(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per second from the first to the last busy one, idle seconds as 0, so a
    chart of the series shows time as it passed."""
    if not rows:
        return []
    span = int((rows[-1]["sec"] - rows[0]["sec"]).total_seconds())
    if span > MAX_FILLED_SECONDS:
        return [{"second": _iso(r["sec"]), "events": int(r["events"])} for r in rows]
    counts = {r["sec"]: int(r["events"]) for r in rows}
    start = rows[0]["sec"]
    out = []
    for i in range(span + 1):
        sec = start + timedelta(seconds=i)
        out.append({"second": _iso(sec), "events": counts.get(sec, 0)})
    return out


def compute(
    paths: PathLike | Iterable[PathLike], *, filter: str | None = None, top: int = 10
) -> Stats:
    """The statistics of the captures ``paths`` (``top``: rows kept of each top-N table)."""
    from kcap.export.extras import require
    from kcap.export.source import to_arrow

    duckdb = require("duckdb")
    files = [str(p) for p in as_paths(paths)]
    con = duckdb.connect()
    con.register("events", to_arrow(files, filter, COLUMNS))
    result = con.sql(_query())
    names = result.columns
    grouped: dict[str, list[dict[str, Any]]] = {k: [] for k in _SETS}
    for values in result.fetchall():
        row = dict(zip(names, values))
        used = frozenset(k for k in _KEYS if row[f"g_{k}"] == 0)
        for set_name, keys in _SETS.items():
            if used == frozenset(keys):
                grouped[set_name].append(row)
                break
    con.close()
    out = Stats(files)
    if grouped["total"]:
        total = grouped["total"][0]
        out.events = int(total["events"])
        out.first, out.last = _iso(total["first"]), _iso(total["last"])
        if total["first"] is not None and total["last"] is not None:
            out.duration_s = (total["last"] - total["first"]).total_seconds()

    def table(
        set_name: str, keys: tuple[str, ...], limit: int | None, bytes_: bool = False
    ) -> list[dict[str, Any]]:
        rows = [r for r in grouped[set_name] if any(r[k] is not None for k in keys)]
        rows.sort(key=lambda r: (-r["events"], *(str(r[k]) for k in keys)))
        if limit is not None:
            rows = rows[:limit]
        made = []
        for r in rows:
            item = {k: r[k] for k in keys}
            item["events"] = int(r["events"])
            if bytes_:
                item["bytes"] = int(r["bytes"] or 0)
            made.append(item)
        return made

    out.kinds = table("kinds", ("name",), None)
    out.categories = table("categories", ("category",), None)
    out.processes = table("processes", ("pid", "ps_name"), top)
    seconds = [r for r in grouped["seconds"] if r["sec"] is not None]
    seconds.sort(key=lambda r: r["sec"])
    out.seconds = _every_second(seconds)
    out.files_top = table("files", ("file_path",), top)
    out.registry_top = table("registry", ("registry_path",), top)
    out.endpoints_top = table("endpoints", ("net_dip", "net_dport"), top, bytes_=True)
    return out


__all__ = ["COLUMNS", "Stats", "compute"]
