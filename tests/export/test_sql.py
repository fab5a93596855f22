"""kcap.sql and kcap sql: views, pushdown of the columns a query names, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kcap
from kcap.cli.main import cli
from kcap.export.sql import analyse, event_columns

duckdb = pytest.importorskip("duckdb", reason="the analysis extra is not installed")


def test_analyse_names_views_and_columns() -> None:
    con = duckdb.connect()
    needs = analyse(
        "SELECT e.name, count(*) FROM events e JOIN processes p ON e.ps_pid = p.pid GROUP BY 1",
        con,
    )
    assert needs.views == {"events", "processes"}
    assert event_columns(needs) == ["pid", "name", "ps_pid"]
    assert analyse("SELECT * FROM events", con).columns is None
    assert event_columns(analyse("SELECT count(*) FROM events", con)) == ["seq"]


def test_group_by_name_matches_the_reader(live2022: Path) -> None:
    rows = dict(kcap.sql("SELECT name, count(*) FROM events GROUP BY 1", live2022).fetchall())
    with kcap.open(live2022) as reader:
        want: dict[str, int] = {}
        for ev in reader.read(lazy=True):
            want[ev.name] = want.get(ev.name, 0) + 1
    assert rows == want


def test_processes_view_has_exits_and_parents(live2022: Path) -> None:
    rows = kcap.sql(
        "SELECT pid, name, exit_time IS NOT NULL, parent_name FROM processes", live2022
    ).fetchall()
    with kcap.open(live2022) as reader:
        terminated = sum(1 for ev in reader.read(lazy=True) if ev.name == "TerminateProcess")
    assert sum(1 for r in rows if r[2]) == terminated
    assert any(r[1] == "services.exe" and r[3] == "wininit.exe" for r in rows)


def test_handles_view_starts_from_the_snapshot(live2022: Path) -> None:
    ((snap,),) = kcap.sql("SELECT count(*) FROM handles WHERE in_snapshot", live2022).fetchall()
    with kcap.open(live2022) as reader:
        assert snap == len({h.object for h in reader.handles})


def test_self_join_reads_events_twice(cap1: Path) -> None:
    ((n,),) = kcap.sql(
        "SELECT count(*) FROM events a JOIN events b ON a.seq = b.seq", cap1
    ).fetchall()
    assert n == 100


def test_cli_formats(cap1: Path, tmp_path: Path) -> None:
    q = "SELECT seq, name FROM events ORDER BY seq LIMIT 3"
    out = CliRunner().invoke(cli, ["sql", q, str(cap1), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [r["seq"] for r in json.loads(out.output)] == [1, 2, 3]
    out = CliRunner().invoke(cli, ["sql", q, str(cap1), "--format", "csv"])
    assert out.output.splitlines()[0] == '"seq","name"'
    pq_out = tmp_path / "r.parquet"
    out = CliRunner().invoke(cli, ["sql", q, str(cap1), "--format", "parquet", "-o", str(pq_out)])
    assert out.exit_code == 0
    import pyarrow.parquet as pq

    assert pq.read_table(pq_out).num_rows == 3


def test_cli_errors(cap1: Path) -> None:
    out = CliRunner().invoke(cli, ["sql", "SELECT nosuch FROM events", str(cap1)])
    assert out.exit_code == 2
    assert out.output.startswith("kcap: error: sql: Binder Error")
    assert "ps_name" in out.output or "Candidate" in out.output
    out = CliRunner().invoke(cli, ["sql", "SELECT 1", "/nonexistent.kcap"])
    assert out.exit_code == 1 and "does not exist" in out.output
