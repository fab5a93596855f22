"""Exported data, read back by pyarrow and by DuckDB (not by kcap's reader), equals what the
reader yields, event for event, for every fixture: header, timestamps with their offsets,
parameters (read back from text by the documented rule), metadata, process state, the exact
bytes of strings that are not valid UTF-8, and events without a process."""

from __future__ import annotations

import ipaddress
import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kcap
from kcap.model.timestamp import Timestamp
from tests.conftest import SHARED

pq = pytest.importorskip("pyarrow.parquet", reason="the analysis extra is not installed")
duckdb = pytest.importorskip("duckdb", reason="the analysis extra is not installed")

FIXTURES = [
    ("fibratus", "cap1.kcap"),
    ("fibratus", "cap2.kcap"),
    ("fibratus", "test-live-2022.kcap"),
    ("newest", "synth-newest-le.kcap"),
    ("rules", "scenarios.kcap"),
]
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def _capture(parts: tuple[str, str]) -> Path:
    path = SHARED.joinpath("fixtures", *parts)
    if not path.exists():
        pytest.skip(f"fixture {path} is absent")
    return path


def _convert(capture: Path, out: Path, fmt: str = "parquet") -> Path:
    from kcap.cli.main import cli

    result = CliRunner().invoke(cli, ["convert", str(capture), "-o", str(out), "--to", fmt])
    assert result.exit_code == 0, result.output
    return out


def _from_text(text: str, like: Any) -> Any:
    """A parameter value read back from its text, by the rule of docs/schema.md."""
    if isinstance(like, bool):
        assert text in ("true", "false")
        return text == "true"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, bytes):
        return bytes.fromhex(text)
    if isinstance(like, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_address(text)
    if isinstance(like, Timestamp):
        return Timestamp(text)
    if isinstance(like, list):
        return json.loads(text)
    return text


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Timestamp) and isinstance(b, Timestamp):
        return a.text == b.text
    return bool(a == b)


def _exact(text: str | None, raw: dict[str, bytes], path: str) -> str | None:
    """The string the reader holds: the column's text, or the exact bytes in ``raw``."""
    if path in raw:
        return raw[path].decode("utf-8", "surrogateescape")
    return text


def _ns(ts: Timestamp) -> int | None:
    return ts.ns if ts.valid and INT64_MIN <= ts.ns <= INT64_MAX else None


def _check(ev: kcap.Event, row: dict[str, Any]) -> None:
    raw = dict(row["raw"] or {})
    for name in ("seq", "pid", "tid", "cpu"):
        assert row[name] == getattr(ev, name), name
    for name in ("name", "category", "description", "host"):
        assert _exact(row[name], raw, name) == getattr(ev, name), name
    assert row["type"] == ev.type
    ts = ev.timestamp
    assert row["timestamp_ns"] == _ns(ts)
    assert row["tz_offset"] == ts.offset
    if row["timestamp_ns"] is None:
        assert raw["timestamp"].decode("utf-8", "surrogateescape") == ts.text
    # every parameter, first of a repeated name
    params = ev.params
    stored = [params[n] for n in params]
    texts = dict(row["params"])
    types = dict(row["param_types"])
    assert len(texts) == len(stored)
    for p in stored:
        key = _exact(p.name, raw, "param_names." + _valid(p.name))
        assert key == p.name
        text = _exact(texts[_valid(p.name)], raw, "params." + _valid(p.name))
        assert text is not None
        assert _same(_from_text(text, p.value), p.value), (p, text)
        assert types[_valid(p.name)] == p.type.label
    meta = [(m["key"], m["value"]) for m in row["meta"]]
    exact_meta = [
        (_exact(k, raw, f"meta.{i}.key"), _exact(v, raw, f"meta.{i}.value"))
        for i, (k, v) in enumerate(meta)
    ]
    assert exact_meta == list(ev.meta)
    ps = ev.ps
    if ps is None:
        assert row["ps_pid"] is None and row["ps_name"] is None and row["ps_uuid"] is None
    else:
        assert row["ps_pid"] == ps.pid and row["ps_ppid"] == ps.ppid and row["ps_uuid"] == ps.uuid
        for attr in ("name", "exe", "cmdline", "cwd", "sid", "username", "domain"):
            assert _exact(row[f"ps_{attr}"], raw, f"ps_{attr}") == getattr(ps, attr), attr
        assert row["ps_session_id"] == ps.session_id
        parent = ps.parent
        assert row["ps_parent_name"] == (None if parent is None else _valid(parent.name))
        assert row["ps_parent_uuid"] == (None if parent is None else parent.uuid)


def _valid(s: str) -> str:
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _reader_events(capture: Path) -> list[kcap.Event]:
    with kcap.open(capture) as reader:
        return list(reader.read())


@pytest.mark.parametrize("parts", FIXTURES, ids=[p[1] for p in FIXTURES])
def test_parquet_read_by_pyarrow_equals_the_reader(parts: tuple[str, str], tmp_path: Path) -> None:
    import pyarrow as pa

    capture = _capture(parts)
    table = pq.read_table(_convert(capture, tmp_path / "out.parquet"))
    assert table.schema.metadata[b"kcap.schema"] == b"1.0"
    table = table.append_column("timestamp_ns", table["timestamp"].cast(pa.int64()))
    events = _reader_events(capture)
    rows = _pylist(table)
    assert len(rows) == len(events)
    for ev, row in zip(events, rows):
        assert row["file"] == str(capture)
        _check(ev, row)


def _pylist(table: Any) -> list[dict[str, Any]]:
    # pyarrow cannot make datetime objects of nanosecond times: drop those columns (the
    # nanoseconds are compared through timestamp_ns)
    keep = [n for n in table.schema.names if n not in ("timestamp", "ps_start_time")]
    return table.select(keep).to_pylist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("parts", FIXTURES, ids=[p[1] for p in FIXTURES])
def test_parquet_read_by_duckdb_equals_the_reader(parts: tuple[str, str], tmp_path: Path) -> None:
    capture = _capture(parts)
    out = _convert(capture, tmp_path / "out.parquet")
    con = duckdb.connect()
    rel = con.sql(
        "SELECT * EXCLUDE (timestamp, ps_start_time), epoch_ns(timestamp) AS timestamp_ns, "
        "map_entries(params) AS params, map_entries(param_types) AS param_types, "
        "map_entries(raw) AS raw FROM read_parquet(?)",
        params=[str(out)],
    )
    names = rel.columns
    rows = [dict(zip(names, values)) for values in rel.fetchall()]
    for row in rows:  # DuckDB gives map entries as structs
        for col in ("params", "param_types", "raw"):
            row[col] = None if row[col] is None else [(e["key"], e["value"]) for e in row[col]]
    events = _reader_events(capture)
    assert len(rows) == len(events)
    for ev, row in zip(events, rows):
        _check(ev, row)


def test_csv_read_by_duckdb_has_every_event(tmp_path: Path) -> None:
    capture = _capture(("newest", "synth-newest-le.kcap"))
    out = _convert(capture, tmp_path / "out.csv", "csv")
    rows = (
        duckdb.connect()
        .sql(
            "SELECT seq, name, timestamp, params FROM read_csv(?, header=true, all_varchar=true)",
            params=[str(out)],
        )
        .fetchall()
    )
    events = _reader_events(capture)
    # (CSV cannot tell an empty string from a null: both read back as null)
    assert [(int(r[0]), r[1] or "", r[2]) for r in rows] == [
        (e.seq, e.name, None if _ns(e.timestamp) is None else _rfc3339_utc(e.timestamp.ns))
        for e in events
    ]
    for (_, _, _, params), ev in zip(rows, events):
        assert sorted(json.loads(params)) == sorted(_valid(n) for n in ev.params)


def _rfc3339_utc(ns: int) -> str:
    import datetime as dt

    secs, frac = divmod(ns, 1_000_000_000)
    day = dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{day}.{frac:09d}Z"


def test_newest_fixture_keeps_invalid_utf8_binary_and_offsets(tmp_path: Path) -> None:
    """The cases the check is about are really in the fixtures (so the tests above cover them)."""
    capture = _capture(("newest", "synth-newest-le.kcap"))
    table = pq.read_table(_convert(capture, tmp_path / "out.parquet"))
    raws = [r for r in table["raw"].to_pylist() if r]
    assert any(k.startswith("params.") for r in raws for k, _ in r)
    assert set(table["tz_offset"].to_pylist()) >= {0, 7200}
    types = {v for m in table["param_types"].to_pylist() for _, v in m}
    assert {"binary", "ipv4", "ipv6", "time", "slice", "uint64", "int64"} <= types
