"""kcap ps, handles, stats, convert on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kcap
from kcap.cli.main import cli

pytest.importorskip("duckdb", reason="the analysis extra is not installed")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_ps_matches_the_snapshotter(live2022: Path) -> None:
    code, out = _run("ps", str(live2022), "--json")
    assert code == 0
    got = {p["pid"] for p in json.loads(out)["processes"]}
    with kcap.open(live2022) as reader:
        _, psnap = reader.recover_snapshotters()
        for _ in reader.read(include_state=True, lazy=True):
            pass
        assert got == {p.pid for p in psnap.processes()}


def test_ps_tree_and_at(live2022: Path) -> None:
    code, out = _run("ps", str(live2022), "--tree", "--json")
    forest = json.loads(out)["tree"]
    services = [c for r in forest for c in r["children"] if c["name"] == "services.exe"]
    assert services and any(c["name"] == "svchost.exe" for c in services[0]["children"])
    code, early = _run("ps", str(live2022), "--at", "+0", "--json")
    assert code == 0 and len(json.loads(early)["processes"]) < len(json.loads(out)["tree"]) + 200
    code, out = _run("ps", str(live2022), "--at", "yesterday")
    assert code == 2 and "RFC 3339" in out


def test_handles_filters(live2022: Path) -> None:
    code, out = _run("handles", str(live2022), "--pid", "3536", "--json")
    assert code == 0
    rows = json.loads(out)["handles"]
    assert rows and {r["pid"] for r in rows} == {3536}


def test_stats_counts(live2022: Path) -> None:
    code, out = _run("stats", str(live2022), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["events"] == 57326
    assert sum(r["events"] for r in doc["kinds"]) == 57326
    assert sum(r["events"] for r in doc["seconds"]) == 57326
    assert doc["endpoints_top"][0]["bytes"] > 0


def test_convert_errors(cap1: Path, tmp_path: Path) -> None:
    code, out = _run("convert", str(cap1), "-o", str(tmp_path / "x.unknown"))
    assert code == 2 and "--to" in out
    code, out = _run("convert", str(cap1), "-o", str(tmp_path / "x.csv"), "--columns", "nope")
    assert code == 2 and "unknown column" in out
    code, out = _run("convert", str(cap1), "-o", str(tmp_path / "x.csv"), "kevt.name ==")
    assert code == 2 and out.startswith("kcap: error: filter")


def test_convert_cut_capture_keeps_complete_events(live2022: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.kcap"
    cut.write_bytes(live2022.read_bytes()[:1_000_000])
    out = tmp_path / "cut.parquet"
    code, text = _run("convert", str(cut), "-o", str(out))
    assert code == 1 and "kcap: error:" in text
    import pyarrow.parquet as pq

    assert 0 < pq.read_table(out).num_rows < 57326


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, cap1: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_duckdb(name: str, *a: object, **k: object) -> object:
        if name == "duckdb" or name.startswith("duckdb."):
            raise ImportError(name)
        return real_import(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_duckdb)
    monkeypatch.delitem(__import__("sys").modules, "duckdb", raising=False)
    code, out = _run("sql", "SELECT 1", str(cap1))
    assert code == 1
    assert "pip install 'kcap[analysis]'" in out
